/** The DLQ queue-size alert: which level a count is at, and whether a change is an alert. */
export type AlertLevel = 'normal' | 'warning' | 'critical';

const RANK: Record<AlertLevel, number> = { normal: 0, warning: 1, critical: 2 };

export function alertLevelOf(count: number, thresholds: { warning: number; critical: number }): AlertLevel {
  if (count >= thresholds.critical) return 'critical';
  if (count >= thresholds.warning) return 'warning';
  return 'normal';
}

/** Rising to a higher level alerts; falling back only resets, so the next rise alerts again. */
export function isRise(from: AlertLevel, to: AlertLevel): boolean {
  return RANK[to] > RANK[from];
}
