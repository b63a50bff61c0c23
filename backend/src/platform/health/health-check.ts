/** A dependency the process needs; `check` rejects when it does not answer. */
export interface HealthCheck {
  readonly name: string;
  check(): Promise<void>;
}

export interface HealthReport {
  ready: boolean;
  checks: Record<string, { status: 'ok' | 'down'; error?: string; ms: number }>;
}

/** Runs every check in parallel, each bounded by `timeoutMs` so a hung dependency reads as down. */
export async function runHealthChecks(
  checks: readonly HealthCheck[],
  timeoutMs: number,
): Promise<HealthReport> {
  const entries = await Promise.all(
    checks.map(async (c) => {
      const began = Date.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          c.check(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return [c.name, { status: 'ok' as const, ms: Date.now() - began }] as const;
      } catch (err) {
        return [
          c.name,
          { status: 'down' as const, error: (err as Error).message, ms: Date.now() - began },
        ] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const results = Object.fromEntries(entries) as HealthReport['checks'];
  return { ready: entries.every(([, r]) => r.status === 'ok'), checks: results };
}
