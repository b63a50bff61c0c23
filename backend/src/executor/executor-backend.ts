/**
 * The contract every executor backend implements: the local bubblewrap sandbox now, Kubernetes
 * pods later. A backend runs one script under limits, streams its output live and answers with
 * one outcome. It never throws for anything the script does; it throws only for a request that
 * should never have reached it (unknown runtime, nonsensical limits) or when it is not started.
 */

export interface ExecutionLimits {
  /** Wall-clock seconds from start to kill (`timeout`). */
  wallSeconds: number;
  /** CPU seconds of the whole sandbox, all processes and threads together (`cpu_limit`). */
  cpuSeconds: number;
  /** Resident memory of the whole sandbox, including its tmpfs files (`memory_limit`). */
  memoryBytes: number;
  /** Tasks (processes and threads) alive at once; a fork beyond it fails with EAGAIN. */
  maxProcesses: number;
  /** Largest file the script may write, and the size of each writable tmpfs. */
  maxFileBytes: number;
  /** stdout + stderr together; output beyond it is dropped and the run killed (`output_limit`). */
  maxOutputBytes: number;
}

export interface RuntimeRef {
  lang: string;
  version: string;
}

export interface ExecutionRequest {
  executionId: string;
  runtime: RuntimeRef;
  script: string;
  stdin?: string;
  /** Passed to the program as argv entries, never through a shell. */
  args?: string[];
  limits: ExecutionLimits;
}

export type OutputStream = 'stdout' | 'stderr';

/** Receives output live. Chunks arrive in order per stream and never beyond maxOutputBytes in total. */
export interface OutputSink {
  started(info: { pid?: number }): void;
  output(stream: OutputStream, chunk: Buffer): void;
}

export const VERDICTS = [
  'completed',
  'timeout',
  'cpu_limit',
  'memory_limit',
  'output_limit',
  'cancelled',
  'failed',
] as const;

/**
 * `completed`: the script ran to its end, whatever its exit code or signal. `failed`: the platform
 * could not run it. The rest name the limit or request that ended the run.
 */
export type Verdict = (typeof VERDICTS)[number];

export interface ExecutionOutcome {
  verdict: Verdict;
  exitCode: number | null;
  /** Signal name (`SIGKILL`) when the program was ended by a signal. */
  signal: string | null;
  stdout: Buffer;
  stderr: Buffer;
  /** True when output beyond maxOutputBytes was dropped. */
  outputTruncated: boolean;
  wallSeconds: number;
  /** Precise CPU time (nanosecond accounting), 0 only where the backend reports no accounting. */
  cpuSeconds: number;
  peakMemoryBytes: number;
  /** Human-readable explanation for `failed`, the limits, and notable events (fork failures). */
  reason?: string;
}

export interface Runtime {
  /** Key as the API uses it: `python`, `node`, `bash`, `go`, `ruby`. */
  lang: string;
  /** major.minor (`3.11`, `5.2`), major only for node (`20`), like the reference. */
  version: string;
  /** What `--version` printed, for display. */
  fullVersion: string;
  fileExtension: string;
  /** argv of the program inside the sandbox; the script is `main.<ext>` in the working directory. */
  command: readonly string[];
  exampleScript: string;
}

/**
 * How each limit is enforced, detected when the backend starts; `null` means not enforced.
 * Values are short tags such as `cgroup-v1`, `prlimit`, `timer`, `netns`.
 */
export interface LimitEnforcement {
  memory: string | null;
  pids: string | null;
  cpu: string | null;
  wall: string | null;
  fileSize: string | null;
  disk: string | null;
  output: string | null;
  network: string | null;
  filesystem: string | null;
  user: string | null;
  kill: string | null;
  cpuAccounting: string | null;
  memoryAccounting: string | null;
}

export interface ExecutorBackend {
  readonly name: string;
  runtimes(): Runtime[];
  run(request: ExecutionRequest, sink: OutputSink, signal: AbortSignal): Promise<ExecutionOutcome>;
  enforcement(): LimitEnforcement;
}
