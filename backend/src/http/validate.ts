import type { z } from 'zod';
import { AppError } from '../platform/errors/app-error.js';

export interface FieldError {
  field: string;
  message: string;
}

export type InputPart = 'body' | 'query' | 'path';

/**
 * Parses request input with a zod schema, or throws AppError('validation') listing each offending
 * field, which the error handler answers as 422 `{detail, type, errors: [{field, message}]}`.
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  part: InputPart = 'body',
): z.output<S> {
  // express leaves the body undefined when no parser matched the content type: treat it as empty.
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const errors: FieldError[] = result.error.issues.map((issue) => ({
    field: issue.path.length === 0 ? part : issue.path.map(String).join('.'),
    message: issue.message,
  }));
  const fields = [...new Set(errors.map((e) => e.field))];
  throw new AppError('validation', `Invalid request ${part}: ${fields.join(', ')}`, { details: errors });
}
