/** Latency percentiles in milliseconds (nearest-rank). */
export function percentiles(samplesMs: number[]): { p50: number; p95: number; p99: number; n: number } {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const at = (p: number): number =>
    sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
  return { p50: at(50), p95: at(95), p99: at(99), n: sorted.length };
}

/** Runs `task` `total` times with at most `concurrency` at once; returns completions per second. */
export async function throughput(
  total: number,
  concurrency: number,
  task: () => Promise<void>,
): Promise<number> {
  let next = 0;
  const began = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        await task();
      }
    }),
  );
  return total / ((performance.now() - began) / 1000);
}

export const fmt = (n: number): string => n.toFixed(1);
