import { readFileSync } from 'node:fs';

/** State letter and process group of `pid` from /proc/<pid>/stat, or undefined once it is gone. */
export function procStat(pid: number): { state: string; pgrp: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself contain spaces or ')'.
  const [state, , pgrp] = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: state ?? '', pgrp: Number(pgrp) };
}

/**
 * True while `pid` exists and is not a zombie. Processes orphaned to this VM's init are reaped
 * only late, so a zombie counts as gone.
 */
export function isRunning(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}
