import type { ExecutionVerdict } from '../events/definitions.js';

/**
 * The orchestrator's own record of one execution (saga id = execution id). `queued` and
 * `scheduled` are active; the others are final. Moves between states are conditional updates in
 * Mongo, so the scheduler, a cancel and the reconciler racing on one execution have one winner.
 */
export type SagaState = 'queued' | 'scheduled' | 'completed' | 'failed' | 'cancelled';
export type ActiveSagaState = 'queued' | 'scheduled';
export type FinalSagaState = Exclude<SagaState, ActiveSagaState>;

export const ACTIVE_SAGA_STATES: readonly ActiveSagaState[] = ['queued', 'scheduled'];

export type SagaStepName =
  | 'requested'
  | 'enqueued'
  | 'queued_published'
  | 'scheduled'
  | 'command_published'
  | 'cancel_requested'
  | 'delete_requested'
  | 'cancelled_published'
  | 'terminal_event'
  | 'requeued_by_reconciler'
  | 'failed_by_reconciler';

export interface SagaStep {
  name: SagaStepName;
  at: Date;
  detail: string | null;
}

export interface SagaCompensation {
  /** What was undone, e.g. `release_slot_and_requeue`. */
  name: string;
  at: Date;
  reason: string;
}

export interface Saga {
  id: string;
  state: SagaState;
  steps: SagaStep[];
  compensations: SagaCompensation[];
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export function isFinalSagaState(state: SagaState): state is FinalSagaState {
  return !(ACTIVE_SAGA_STATES as readonly string[]).includes(state);
}

/**
 * The saga's final state for an execution verdict. Every verdict the script itself reached
 * (including a limit or a timeout) means the saga did its job; only a platform failure fails it.
 */
export function sagaStateForVerdict(verdict: ExecutionVerdict): FinalSagaState {
  switch (verdict) {
    case 'completed':
    case 'timeout':
    case 'cpu_limit':
    case 'memory_limit':
    case 'output_limit':
      return 'completed';
    case 'cancelled':
      return 'cancelled';
    case 'failed':
      return 'failed';
  }
}

export function step(name: SagaStepName, detail: string | null = null, at = new Date()): SagaStep {
  return { name, at, detail };
}
