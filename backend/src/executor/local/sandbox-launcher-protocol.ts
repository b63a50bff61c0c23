// The IPC messages between the worker and its sandbox launcher process. Only types and constants:
// the launcher imports this file, and it must stay free of anything that grows its memory.

/**
 * The whole environment of the launcher process and of each sandbox process it spawns: nothing of
 * the worker's (SECRET_KEY, MONGO_PASSWORD…). bwrap also runs with --clearenv.
 */
export const SANDBOX_ENV: Readonly<Record<string, string>> = { PATH: '/usr/bin:/bin' };

/** fd of each sandbox on which bwrap writes its JSON status (child pid, exit code). */
export const SANDBOX_STATUS_FD = 3;
/** fd of each sandbox from which bwrap reads its seccomp program (a file the launcher opens). */
export const SANDBOX_SECCOMP_FD = 4;
/** fd of each sandbox from which bwrap reads its options (a pipe the launcher writes and closes). */
export const SANDBOX_ARGS_FD = 5;

/** Worker → launcher. `id` names one sandbox process for its whole life. */
export type LauncherRequest =
  | {
      type: 'launch';
      id: number;
      file: string;
      args: string[];
      stdin: string;
      /** Opened read-only and passed as SANDBOX_SECCOMP_FD. */
      seccompFile?: string;
      /** Written to a pipe on SANDBOX_ARGS_FD, which is then closed. */
      argsData?: string;
    }
  /** SIGKILL the sandbox's process group, unless it has already exited. */
  | { type: 'kill'; id: number }
  /** The worker is done with the run: stop reading its pipes and forget it. */
  | { type: 'release'; id: number };

/** Launcher → worker, in the order the launcher observed them. */
export type LauncherEvent =
  | { type: 'ready'; pid: number }
  | { type: 'spawn'; id: number; pid: number }
  | { type: 'output'; id: number; stream: 'stdout' | 'stderr'; chunk: Buffer }
  | { type: 'status'; id: number; text: string }
  | { type: 'exit'; id: number; code: number | null; signal: NodeJS.Signals | null }
  /** The sandbox could not be started (spawn failed): no exit follows. */
  | { type: 'error'; id: number; message: string }
  /** The process exited and all its pipes are closed: nothing more comes for this id. */
  | { type: 'close'; id: number };
