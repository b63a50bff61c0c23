/**
 * Whether `err`, or an error it wraps, carries one of these kafkajs error types (the broker's
 * error name, e.g. `MESSAGE_TOO_LARGE`). kafkajs retry errors keep the last failure in `cause`.
 */
export function hasKafkaErrorType(err: unknown, types: ReadonlySet<string>): boolean {
  let current = err;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const { type, cause } = current as { type?: unknown; cause?: unknown };
    if (typeof type === 'string' && types.has(type)) return true;
    current = cause;
  }
  return false;
}
