/** Where the runner and the script live inside an executor pod. */
export const RUNNER_DIR = '/runner';
export const RUNNER_PATH = `${RUNNER_DIR}/integr8scode-runner`;
export const SCRIPT_DIR = '/script';
export const WORK_DIR = '/work';
export const TERMINATION_LOG = '/dev/termination-log';

export interface RunnerLimits {
  wallSeconds: number;
  cpuSeconds: number;
  maxOutputBytes: number;
  maxFileBytes: number;
}

export interface RunnerCommandOptions {
  runnerPath: string;
  scriptDir: string;
  workdir: string;
  /** The program's stdin; /dev/null when absent. */
  stdinPath?: string;
  terminationLog?: string;
  limits: RunnerLimits;
  /** The runtime's command, e.g. `['python3', 'main.py']`. */
  program: readonly string[];
  /** The user's arguments, passed as argv entries after the program. */
  args: readonly string[];
}

/**
 * The executor container's command: the runner (backend/executor-runner) wrapping the program.
 * Throws for limits the runner would reject, which only a bug upstream can produce.
 */
export function runnerCommand(opts: RunnerCommandOptions): string[] {
  if (opts.program.length === 0 || opts.program[0] === '')
    throw new RangeError('runnerCommand: empty program');
  const { limits } = opts;
  return [
    opts.runnerPath,
    'run',
    '--script-dir',
    opts.scriptDir,
    '--workdir',
    opts.workdir,
    ...(opts.stdinPath === undefined ? [] : ['--stdin', opts.stdinPath]),
    '--termination-log',
    opts.terminationLog ?? TERMINATION_LOG,
    '--wall-seconds',
    seconds('wallSeconds', limits.wallSeconds),
    '--cpu-seconds',
    seconds('cpuSeconds', limits.cpuSeconds),
    '--max-output-bytes',
    bytes('maxOutputBytes', limits.maxOutputBytes),
    '--max-file-bytes',
    bytes('maxFileBytes', limits.maxFileBytes),
    '--',
    ...opts.program,
    ...opts.args,
  ];
}

function seconds(name: string, value: number): string {
  if (!Number.isFinite(value) || value <= 0)
    throw new RangeError(`runnerCommand: ${name} must be > 0, got ${value}`);
  // Go's strconv.ParseFloat reads every form String() produces, exponents included.
  return String(value);
}

function bytes(name: string, value: number): string {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`runnerCommand: ${name} must be a positive integer, got ${value}`);
  }
  return String(value);
}
