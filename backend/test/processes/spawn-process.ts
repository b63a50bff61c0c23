import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { findBaseDir } from '../../src/settings/settings.js';

export interface SpawnedProcess {
  child: ChildProcess;
  /** Every stdout/stderr line so far. */
  lines: string[];
  /** Resolves with the first JSON log line matching `predicate`. */
  waitForLog(
    predicate: (entry: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const root = findBaseDir(process.cwd());

/** Runs an entry file as its own process, as deployments do, and collects its output lines. */
export function spawnEntry(entry: string, args: string[], env: Record<string, string> = {}): SpawnedProcess {
  // SPAWN_COMPILED=1: run the compiled entry (backend/dist, from `npm run build`) the way a
  // deployment does, instead of the TypeScript source under tsx.
  const compiled = process.env.SPAWN_COMPILED === '1';
  const entryFile = compiled
    ? join(root, 'backend', 'dist', 'entrypoints', entry.replace(/\.ts$/, '.js'))
    : join(root, 'backend', 'src', 'entrypoints', entry);
  const child = spawn(
    process.execPath,
    // SPAWN_NODE_ARGS: extra node flags for profiling, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
    [
      ...(process.env.SPAWN_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      ...(compiled ? [] : ['--import', 'tsx']),
      entryFile,
      ...args,
    ],
    {
      cwd: root,
      env: { ...process.env, MONGO_USER: '', INTEGR8SCODE_LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  const onData = (chunk: Buffer): void => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    for (const w of [...waiters]) w();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );

  // Each waiter parses only the lines it has not seen yet and is dropped once settled: a
  // long-running process (the benchmarks) logs thousands of lines.
  const waitForLog: SpawnedProcess['waitForLog'] = (predicate, timeoutMs = 30_000) =>
    new Promise((resolve, reject) => {
      let scanned = 0;
      let settled = false;
      const check = (): boolean => {
        if (settled) return true;
        for (; scanned < lines.length; scanned++) {
          try {
            const entry = JSON.parse(lines[scanned]!) as Record<string, unknown>;
            if (predicate(entry)) {
              settle();
              resolve(entry);
              return true;
            }
          } catch {
            // not a JSON log line
          }
        }
        return false;
      };
      const waiter = (): void => void check();
      const settle = (): void => {
        settled = true;
        clearTimeout(pending.timer);
        const at = waiters.indexOf(waiter);
        if (at >= 0) waiters.splice(at, 1);
      };
      const pending: { timer?: NodeJS.Timeout } = {};
      if (check()) return;
      pending.timer = setTimeout(() => {
        settle();
        reject(new Error(`log line not seen in ${timeoutMs} ms:\n${lines.join('\n')}`));
      }, timeoutMs);
      waiters.push(waiter);
      void exited.then(() => {
        if (!check()) {
          settle();
          reject(new Error(`process exited before the log line appeared:\n${lines.join('\n')}`));
        }
      });
    });

  return { child, lines, waitForLog, exited };
}
