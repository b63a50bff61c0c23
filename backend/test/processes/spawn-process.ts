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
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'backend', 'src', 'entrypoints', entry), ...args],
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
    waiters.forEach((w) => w());
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );

  const waitForLog: SpawnedProcess['waitForLog'] = (predicate, timeoutMs = 30_000) =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        for (const line of lines) {
          try {
            const entry = JSON.parse(line) as Record<string, unknown>;
            if (predicate(entry)) {
              resolve(entry);
              return true;
            }
          } catch {
            // not a JSON log line
          }
        }
        return false;
      };
      if (check()) return;
      const timer = setTimeout(
        () => reject(new Error(`log line not seen in ${timeoutMs} ms:\n${lines.join('\n')}`)),
        timeoutMs,
      );
      waiters.push(() => {
        if (check()) clearTimeout(timer);
      });
      void exited.then(() => {
        if (!check()) {
          clearTimeout(timer);
          reject(new Error(`process exited before the log line appeared:\n${lines.join('\n')}`));
        }
      });
    });

  return { child, lines, waitForLog, exited };
}
