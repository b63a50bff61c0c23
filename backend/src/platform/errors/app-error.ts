/**
 * The one error type of the codebase. `code` is stable and machine-readable; the HTTP edge maps it
 * to a status. `operational` errors are expected (bad input, missing record, dependency down) and
 * the process keeps running; non-operational (catastrophic) ones mean a bug or broken state.
 */
export type AppErrorCode =
  | 'validation'
  | 'not_found'
  | 'conflict'
  | 'unauthorized'
  | 'forbidden'
  | 'locked'
  | 'rate_limited'
  | 'payload_too_large'
  | 'bad_request'
  | 'dependency_unavailable'
  | 'internal';

export interface AppErrorOptions {
  operational?: boolean;
  cause?: unknown;
  /** Structured detail safe to show a client (e.g. which fields are wrong). */
  details?: unknown;
  /** Extra top-level members of the error body, safe to show a client (e.g. `locked_until`). */
  fields?: Record<string, unknown>;
}

export class AppError extends Error {
  readonly code: AppErrorCode;
  readonly operational: boolean;
  readonly details: unknown;
  readonly fields: Record<string, unknown> | undefined;

  constructor(code: AppErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.operational = options.operational ?? code !== 'internal';
    this.details = options.details;
    this.fields = options.fields;
  }

  static from(err: unknown): AppError {
    if (err instanceof AppError) return err;
    return new AppError('internal', err instanceof Error ? err.message : String(err), {
      operational: false,
      cause: err,
    });
  }
}
