import { readdirSync, readFileSync } from 'node:fs';
import { chmod, chown, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { UidPool } from './uid-pool.js';

// What a per-run host uid touches on the host: the reserved range must be nobody's, the run's
// script is readable by its uid alone, and the uid goes back to the pool only once no process
// of it is left.

/** The uid and gid the program sees inside its user namespace when the worker runs as root. */
export const SANDBOX_INSIDE_ID = 65534;

/** Defaults of SANDBOX_UID_BASE / SANDBOX_UID_COUNT (settings/schema.ts; a test keeps them equal). */
export const DEFAULT_SANDBOX_UIDS = { base: 200_000, count: 1000 } as const;

/** How long to wait for a run's processes to die (SIGKILL) before its uid is retired. */
const REAP_TIMEOUT_MS = 3000;

/** Ids of the reserved range that /etc/passwd or /etc/group give to someone. */
export function idsTakenInRange(pool: UidPool, passwd: string, group: string): string[] {
  const taken: string[] = [];
  for (const [file, text] of [
    ['passwd', passwd],
    ['group', group],
  ] as const) {
    for (const line of text.split('\n')) {
      const [name, , id] = line.split(':');
      if (name && id !== undefined && pool.contains(Number(id))) taken.push(`${file} ${name} (${id})`);
    }
  }
  return taken;
}

/** Refuses a range that overlaps a host user or group: a sandbox must never act as one of them. */
export async function assertRangeUnused(pool: UidPool): Promise<void> {
  const read = (path: string) => readFile(path, 'utf8').catch(() => '');
  const taken = idsTakenInRange(pool, await read('/etc/passwd'), await read('/etc/group'));
  if (taken.length > 0) {
    throw new Error(`sandbox uid range ${pool.base}-${pool.last} overlaps ${taken.slice(0, 5).join(', ')}`);
  }
}

/**
 * Writes the run's script so that only the run can read it: directory 0710 and file 0440, owned by
 * root with the run's gid as group (the sandbox's only group). bwrap binds it as that uid. Without
 * root the sandbox runs as the worker's own uid, which then owns both (0700/0400).
 */
export async function writeRunScript(
  runDir: string,
  name: string,
  script: string,
  runGid: number | undefined,
): Promise<string> {
  const path = join(runDir, name);
  await writeFile(path, script, { mode: 0o400 });
  if (runGid === undefined) {
    await chmod(runDir, 0o700);
    return path;
  }
  await chown(path, 0, runGid);
  await chmod(path, 0o440);
  await chown(runDir, 0, runGid);
  await chmod(runDir, 0o710);
  return path;
}

/** Live (non-zombie) processes whose real, effective, saved or filesystem uid is `uid`. */
export function liveProcessesOf(uid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let status: string;
    try {
      status = readFileSync(`/proc/${entry}/status`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const state = /^State:\s+(\S)/m.exec(status)?.[1];
    const uids = /^Uid:\s+(.*)$/m.exec(status)?.[1]?.split(/\s+/).map(Number) ?? [];
    if (state !== 'Z' && state !== 'X' && uids.includes(uid)) out.push(Number(entry));
  }
  return out;
}

/**
 * SIGKILLs every process of `uid` until none is left; false if some survive the timeout. Used
 * where no cgroup proves a run over: bwrap's pid namespace dies with it, but asynchronously.
 */
export async function reapUid(uid: number, timeoutMs = REAP_TIMEOUT_MS): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = liveProcessesOf(uid);
    if (pids.length === 0) return true;
    if (Date.now() > deadline) return false;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await sleep(10);
  }
}
