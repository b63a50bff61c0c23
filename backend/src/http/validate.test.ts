import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError } from '../platform/errors/app-error.js';
import { parseInput } from './validate.js';

const Body = z.object({ username: z.string().min(3), age: z.number().int().optional() });

function validationError(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected a validation error');
}

describe('parseInput', () => {
  it('when the input matches, then the parsed value is returned without unknown keys', () => {
    expect(parseInput(Body, { username: 'alice', role: 'admin' })).toEqual({ username: 'alice' });
  });

  it('when a string field holds an operator object, then the error names that field', () => {
    const err = validationError(() => parseInput(Body, { username: { $gt: '' } }));
    expect(err.code).toBe('validation');
    expect(err.message).toBe('Invalid request body: username');
    expect(err.details).toEqual([{ field: 'username', message: expect.any(String) as string }]);
  });

  it('when several fields are wrong, then each is listed once in the message', () => {
    const err = validationError(() => parseInput(Body, { username: 'a', age: 1.5 }));
    expect(err.message).toBe('Invalid request body: username, age');
    expect((err.details as { field: string }[]).map((e) => e.field)).toEqual(['username', 'age']);
  });

  it('when the body is missing, then the required fields are named', () => {
    const err = validationError(() => parseInput(Body, undefined));
    expect((err.details as { field: string }[]).map((e) => e.field)).toEqual(['username']);
  });

  it('when the input is not an object at all, then the part itself is named', () => {
    const err = validationError(() => parseInput(Body, 'text', 'query'));
    expect(err.details).toEqual([{ field: 'query', message: expect.any(String) as string }]);
  });
});
