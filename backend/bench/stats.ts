import { readFileSync } from 'node:fs';

/** Latency percentiles in milliseconds (nearest-rank). */
export function percentiles(samplesMs: number[]): { p50: number; p95: number; p99: number; n: number } {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const at = (p: number): number =>
    sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
  return { p50: at(50), p95: at(95), p99: at(99), n: sorted.length };
}

/** CPU time the whole host spent busy so far (all CPUs, kernel and user), in ms, from /proc/stat. */
export function hostBusyMs(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // Fields: user nice system idle iowait irq softirq steal guest guest_nice. Busy here is user,
  // nice, system, irq and softirq: guest/guest_nice are already counted in user/nice, and steal
  // is time the hypervisor gave to someone else, not work done on this VM.
  const busy = BUSY_FIELDS.reduce((sum, i) => sum + (fields[i] ?? 0), 0);
  return (busy * 1000) / USER_HZ;
}

/** Clock ticks per second of /proc/stat (USER_HZ, 100 on Linux). */
const USER_HZ = 100;
/** Indices of user, nice, system, irq and softirq in the `cpu` line of /proc/stat. */
const BUSY_FIELDS = [0, 1, 2, 5, 6];

export interface Throughput {
  /** Completions per second. */
  rate: number;
  /** Host CPU (every process and the kernel) per completion, ms. */
  hostCpuMs: number;
}

/** Runs `task` `total` times with at most `concurrency` at once. */
export async function throughput(
  total: number,
  concurrency: number,
  task: () => Promise<void>,
): Promise<Throughput> {
  let next = 0;
  const busyBefore = hostBusyMs();
  const began = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        await task();
      }
    }),
  );
  const seconds = (performance.now() - began) / 1000;
  return { rate: total / seconds, hostCpuMs: (hostBusyMs() - busyBefore) / total };
}

export const fmt = (n: number): string => n.toFixed(1);
