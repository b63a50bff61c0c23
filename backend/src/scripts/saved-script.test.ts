import { describe, expect, it } from 'vitest';
import { AppError } from '../platform/errors/app-error.js';
import { savedScriptView } from './saved-script.js';
import { assertScriptSize } from './saved-script-service.js';

describe('assertScriptSize', () => {
  it('when the script is exactly at the limit in UTF-8 bytes, then it passes', () => {
    expect(() => assertScriptSize('é'.repeat(5), 10)).not.toThrow();
  });

  it('when multi-byte characters take it over the limit, then a validation error names the script', () => {
    let caught: unknown;
    try {
      assertScriptSize('é'.repeat(6), 10);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AppError);
    expect(caught).toMatchObject({
      code: 'validation',
      message: 'script is 12 bytes; the limit is 10',
      details: [{ field: 'script', message: 'at most 10 bytes' }],
    });
  });
});

describe('savedScriptView', () => {
  it('when rendered, then it shows the API field names and ISO times, never the owner', () => {
    const at = new Date('2026-01-02T03:04:05.000Z');
    const view = savedScriptView({
      id: 'id-1',
      userId: 'owner-1',
      name: 'n',
      lang: 'python',
      langVersion: '3.11',
      script: 'print(1)',
      description: 'd',
      createdAt: at,
      updatedAt: at,
    });
    expect(view).toEqual({
      script_id: 'id-1',
      name: 'n',
      lang: 'python',
      lang_version: '3.11',
      script: 'print(1)',
      description: 'd',
      created_at: '2026-01-02T03:04:05.000Z',
      updated_at: '2026-01-02T03:04:05.000Z',
    });
  });
});
