import type { ExecutionResult } from '../events/definitions.js';
import type { ExecutionOutcome } from '../executor/executor-backend.js';

export function resultOf(
  executionId: string,
  outcome: ExecutionOutcome,
  outputChunks: number,
): ExecutionResult {
  return {
    execution_id: executionId,
    verdict: outcome.verdict,
    exit_code: outcome.exitCode,
    signal: outcome.signal,
    stdout_b64: outcome.stdout.toString('base64'),
    stderr_b64: outcome.stderr.toString('base64'),
    output_truncated: outcome.outputTruncated,
    output_chunks: outputChunks,
    resource_usage: {
      wall_seconds: outcome.wallSeconds,
      cpu_seconds: outcome.cpuSeconds,
      peak_memory_bytes: Math.round(outcome.peakMemoryBytes),
    },
    reason: outcome.reason ?? null,
  };
}
