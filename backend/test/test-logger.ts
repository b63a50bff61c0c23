import { createLogger, type Logger } from '../src/platform/logging/logger.js';

/** A real pino logger for tests, quiet unless TEST_LOG_LEVEL asks for more. */
export function testLogger(): Logger {
  return createLogger({ service: 'test', version: '0', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
}

/** Polls `probe` until it returns a value that is not undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  { timeoutMs = 15_000, intervalMs = 50, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
}

/** Fails if `check` is false at any poll during `ms`: a check that something stays so. */
export async function holdsFor(
  ms: number,
  check: () => Promise<boolean> | boolean,
  intervalMs = 50,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!(await check())) throw new Error(`a condition meant to hold for ${ms} ms turned false`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
