/**
 * The date before which records are pruned. TTL indexes do the same on real MongoDB, but the
 * wire-compatible test servers ignore TTL, so retention is also enforced by scheduled pruning.
 */
export function retentionCutoff(now: Date, retentionDays: number): Date {
  return new Date(now.getTime() - retentionDays * 24 * 60 * 60 * 1000);
}
