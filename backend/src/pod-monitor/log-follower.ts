import type { KubeConfig } from '@kubernetes/client-node';
import type { OutputStream } from '../executor/executor-backend.js';
import { RunnerLogParser } from '../executor/kubernetes/runner-log-parser.js';
import type { TerminationRecord } from '../executor/kubernetes/termination-record.js';
import type { Logger } from '../platform/logging/logger.js';
import { openPodLog, PodLogError } from './pod-log-stream.js';

export interface OutputFrame {
  stream: OutputStream;
  seq: number;
  data: Buffer;
}

export interface FollowerOptions {
  kc: KubeConfig;
  namespace: string;
  pod: string;
  container: string;
  /** Output kept (and passed on) at most; a script that writes to the log behind the runner's back is cut here. */
  maxOutputBytes: number;
  onOutput: (frame: OutputFrame) => void;
  logger: Logger;
  /** Pause between reconnects. Default 500 ms. */
  retryMs?: number;
}

/** What the log gave once the follower is done. */
export interface FollowedLog {
  stdout: Buffer;
  stderr: Buffer;
  /** Frames passed to onOutput, in seq order without gaps (seq 0 … frames-1, minus reported gaps). */
  frames: number;
  /** The runner's `X` line, when the log reached it. */
  record: TerminationRecord | null;
  truncated: boolean;
  problems: string[];
}

/**
 * Follows an executor container's log while it runs, parsing the runner's frames. Reconnects
 * after a broken stream (API server restart, kubelet hiccup) and skips frames it already passed
 * on, so output is neither lost nor repeated. Once told the container ended, it reads to the end
 * one last time (without follow) and finishes; a log that cannot be read then is reported as a
 * problem, not an error: the verdict does not depend on it.
 */
export class LogFollower {
  readonly done: Promise<FollowedLog>;
  private readonly abort = new AbortController();
  private containerEnded = false;
  /** The follow request in flight; ended() cuts it (some log servers never end a follow stream). */
  private current: AbortController | null = null;
  private wake: (() => void) | undefined;
  private nextSeq = 0;
  private kept = 0;
  private truncated = false;
  private record: TerminationRecord | null = null;
  private readonly problems: string[] = [];
  private readonly stdout: Buffer[] = [];
  private readonly stderr: Buffer[] = [];
  private frames = 0;

  constructor(private readonly options: FollowerOptions) {
    this.done = this.loop();
  }

  /** The container terminated: read what is left and finish. */
  ended(): void {
    this.containerEnded = true;
    this.current?.abort();
    this.wake?.();
  }

  /** Stops at once (monitor shutting down); `done` resolves with what was read. */
  stop(): void {
    this.abort.abort();
    this.wake?.();
  }

  private async loop(): Promise<FollowedLog> {
    const { logger } = this.options;
    let failures = 0;
    while (!this.abort.signal.aborted) {
      const finalRead = this.containerEnded;
      try {
        await this.readOnce(!finalRead);
        failures = 0;
        if (this.record !== null || finalRead) break;
        // Cut because the container ended: read the rest at once.
        if (this.containerEnded) continue;
      } catch (err) {
        if (this.abort.signal.aborted) break;
        failures++;
        const message = err instanceof Error ? err.message : String(err);
        // 400 while the container is still being created is normal; keep trying while it runs.
        if (finalRead && failures >= 3) {
          this.problems.push(`log unavailable: ${message}`);
          break;
        }
        logger.debug({ err: message, failures }, 'pod log not readable yet; retrying');
      }
      await this.pause(Math.min(failures + 1, 5) * (this.options.retryMs ?? 500));
    }
    return {
      stdout: Buffer.concat(this.stdout),
      stderr: Buffer.concat(this.stderr),
      frames: this.frames,
      record: this.record,
      truncated: this.truncated,
      problems: this.problems,
    };
  }

  private async readOnce(follow: boolean): Promise<void> {
    const { kc, namespace, pod, container } = this.options;
    const res = await openPodLog(kc, { namespace, pod, container, follow }, this.abort.signal);
    const parser = new RunnerLogParser({ skipBelowSeq: this.nextSeq });
    try {
      for await (const chunk of res) this.handle(parser.push(chunk as Buffer));
    } catch (err) {
      if (this.abort.signal.aborted) return;
      throw new PodLogError(
        null,
        `pod log stream broke: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    // A partial last line here usually means the stream was cut; the reconnect re-reads it.
    if (this.record !== null || !follow) this.handle(parser.end());
  }

  private handle(events: ReturnType<RunnerLogParser['push']>): void {
    for (const event of events) {
      switch (event.kind) {
        case 'output':
          this.output(event.stream, event.seq, event.data);
          break;
        case 'record':
          this.record = event.record;
          break;
        case 'problem':
          if (this.problems.length < 20) this.problems.push(event.problem);
          break;
        case 'start':
          break;
      }
    }
  }

  private output(stream: OutputStream, seq: number, data: Buffer): void {
    this.nextSeq = seq + 1;
    const room = this.options.maxOutputBytes - this.kept;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    const kept = data.length > room ? data.subarray(0, room) : data;
    if (kept.length < data.length) this.truncated = true;
    this.kept += kept.length;
    (stream === 'stdout' ? this.stdout : this.stderr).push(kept);
    this.frames++;
    this.options.onOutput({ stream, seq, data: kept });
  }

  private pause(ms: number): Promise<void> {
    if (this.containerEnded && this.abort.signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    }).finally(() => {
      this.wake = undefined;
    });
  }
}
