const UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

/** Bytes of a Kubernetes memory quantity ("128Mi", "1G", "512000"). */
export function memoryQuantityBytes(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(quantity.trim());
  if (!match) throw new Error(`not a memory quantity: ${quantity}`);
  return Math.round(Number(match[1]) * UNITS[match[2] ?? '']!);
}
