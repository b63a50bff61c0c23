import { z } from 'zod';

/**
 * What the executor runner (backend/executor-runner, a static Go binary that wraps the user's
 * program inside the pod) writes to the container's termination message and as the last `X` line
 * of its log. The pod monitor trusts nothing else about how the script ended: a pod whose
 * container was killed before the runner could write it (OOM of the whole container, eviction,
 * deadline) is classified from the container state instead.
 *
 * The termination message is capped at 4096 bytes by the kubelet, so the record holds no output.
 */
export const RUNNER_PROTOCOL_VERSION = 1;

export const RunnerVerdict = z.enum([
  'completed',
  'timeout',
  'cpu_limit',
  'memory_limit',
  'output_limit',
  'failed',
]);
export type RunnerVerdict = z.infer<typeof RunnerVerdict>;

export const TerminationRecord = z.object({
  v: z.literal(RUNNER_PROTOCOL_VERSION),
  verdict: RunnerVerdict,
  /** Exit status of the program; null when a signal ended it. */
  exit_code: z.number().int().nullable(),
  /** Signal name (`SIGKILL`) when a signal ended the program. */
  signal: z.string().nullable(),
  wall_seconds: z.number().nonnegative(),
  cpu_seconds: z.number().nonnegative(),
  peak_memory_bytes: z.number().int().nonnegative(),
  output_truncated: z.boolean(),
  stdout_bytes: z.number().int().nonnegative(),
  stderr_bytes: z.number().int().nonnegative(),
  /** Output frames written to the log (`O`/`E` lines); the monitor checks it saw all of them. */
  frames: z.number().int().nonnegative(),
  reason: z.string().nullable(),
});
export type TerminationRecord = z.infer<typeof TerminationRecord>;

export type ParsedTermination = { ok: true; record: TerminationRecord } | { ok: false; error: string };

/** Parses a termination message (or the JSON of an `X` log line); never throws. */
export function parseTerminationRecord(text: string | undefined | null): ParsedTermination {
  if (text === undefined || text === null || text.trim() === '')
    return { ok: false, error: 'empty termination message' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, error: `termination message is not JSON: ${text.slice(0, 120)}` };
  }
  const parsed = TerminationRecord.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      error: `termination message does not match the runner protocol: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`,
    };
  }
  return { ok: true, record: parsed.data };
}
