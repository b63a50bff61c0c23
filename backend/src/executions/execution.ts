import type {
  ExecutionLimits,
  ExecutionPriority,
  ExecutionVerdict,
  ResourceUsage,
} from '../events/definitions.js';

export type ActiveStatus = 'queued' | 'scheduled' | 'running';
export type ExecutionStatus = ActiveStatus | ExecutionVerdict;

/** Progress only moves forward; any verdict is final, and the first one written wins. */
const RANK: Record<ActiveStatus, number> = { queued: 0, scheduled: 1, running: 2 };
export const ACTIVE_STATUSES: readonly ActiveStatus[] = ['queued', 'scheduled', 'running'];

export function isTerminal(status: ExecutionStatus): status is ExecutionVerdict {
  return !(ACTIVE_STATUSES as readonly string[]).includes(status);
}

/** The statuses an execution may be in for a move to `to` to be allowed. */
export function statusesBefore(to: ExecutionStatus): ActiveStatus[] {
  if (isTerminal(to)) return [...ACTIVE_STATUSES];
  return ACTIVE_STATUSES.filter((s) => RANK[s] < RANK[to]);
}

export interface ExecutionOutcomeRecord {
  exitCode: number | null;
  signal: string | null;
  stdout: Buffer;
  stderr: Buffer;
  outputTruncated: boolean;
  resourceUsage: ResourceUsage | null;
  reason: string | null;
}

export interface Execution {
  id: string;
  userId: string;
  lang: string;
  langVersion: string;
  script: string;
  stdin: string;
  args: string[];
  limits: ExecutionLimits;
  priority: ExecutionPriority;
  status: ExecutionStatus;
  /** Set once execution_requested is on Kafka; the reconciler republishes it while false. */
  requestPublished: boolean;
  outcome: ExecutionOutcomeRecord | null;
  createdAt: Date;
  updatedAt: Date;
  scheduledAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
}
