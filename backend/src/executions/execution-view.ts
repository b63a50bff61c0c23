import type { Execution } from './execution.js';
import { isTerminal } from './execution.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

function text(bytes: Buffer): { text: string; b64?: string } {
  try {
    return { text: utf8.decode(bytes) };
  } catch {
    // Not valid UTF-8: a readable rendering plus the exact bytes.
    return { text: bytes.toString('utf8'), b64: bytes.toString('base64') };
  }
}

/** The JSON an API client sees for an execution and its result. */
export function executionView(e: Execution): Record<string, unknown> {
  const o = e.outcome;
  const stdout = o ? text(o.stdout) : { text: '' };
  const stderr = o ? text(o.stderr) : { text: '' };
  return {
    execution_id: e.id,
    status: e.status,
    finished: isTerminal(e.status),
    lang: e.lang,
    lang_version: e.langVersion,
    priority: e.priority,
    exit_code: o?.exitCode ?? null,
    signal: o?.signal ?? null,
    stdout: stdout.text,
    stderr: stderr.text,
    ...(stdout.b64 !== undefined ? { stdout_b64: stdout.b64 } : {}),
    ...(stderr.b64 !== undefined ? { stderr_b64: stderr.b64 } : {}),
    output_truncated: o?.outputTruncated ?? false,
    resource_usage: o?.resourceUsage ?? null,
    reason: o?.reason ?? null,
    limits: e.limits,
    created_at: e.createdAt.toISOString(),
    started_at: e.startedAt?.toISOString() ?? null,
    finished_at: e.finishedAt?.toISOString() ?? null,
  };
}
