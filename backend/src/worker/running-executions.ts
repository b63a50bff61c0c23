/**
 * The executions running in this worker instance, by execution id, so a delete_pod_command can
 * abort the right one. Cancels for executions not (yet) here are remembered for a while: the
 * command may still be waiting behind another one on its partition, and must not start then.
 */
export class RunningExecutions {
  private readonly runs = new Map<string, { abort: AbortController; done: Promise<unknown> }>();
  private readonly cancelled = new Map<string, number>();

  constructor(private readonly rememberCancelMs = 10 * 60_000) {}

  get size(): number {
    return this.runs.size;
  }

  /** The run in progress for this id, if any (a duplicate delivery may find it). */
  get(executionId: string): Promise<unknown> | undefined {
    return this.runs.get(executionId)?.done;
  }

  add(executionId: string, abort: AbortController, done: Promise<unknown>): void {
    this.runs.set(executionId, { abort, done });
    void done
      .catch(() => undefined)
      .finally(() => {
        if (this.runs.get(executionId)?.abort === abort) this.runs.delete(executionId);
      });
  }

  /** Aborts the run if it is here; returns whether it was. */
  cancel(executionId: string, reason: string, now = Date.now()): boolean {
    this.prune(now);
    this.cancelled.set(executionId, now + this.rememberCancelMs);
    const run = this.runs.get(executionId);
    run?.abort.abort(new Error(reason));
    return run !== undefined;
  }

  wasCancelled(executionId: string, now = Date.now()): boolean {
    const until = this.cancelled.get(executionId);
    return until !== undefined && until > now;
  }

  abortAll(reason: string): void {
    for (const run of this.runs.values()) run.abort.abort(new Error(reason));
  }

  private prune(now: number): void {
    for (const [id, until] of this.cancelled) if (until <= now) this.cancelled.delete(id);
  }
}
