import { describe, expect, it } from 'vitest';
import { AppError } from '../platform/errors/app-error.js';
import { maxLimits, resolveLimits, type ExecutionSettings } from './execution-service.js';
import { executionView } from './execution-view.js';
import { memoryQuantityBytes } from './quantity.js';

const settings = {
  K8S_POD_EXECUTION_TIMEOUT: 5,
  K8S_POD_MEMORY_LIMIT: '128Mi',
  EXECUTION_MAX_CPU_SECONDS: 3,
  EXECUTION_MAX_PROCESSES: 32,
  EXECUTION_MAX_FILE_BYTES: 1024,
  EXECUTION_MAX_OUTPUT_BYTES: 2048,
} as ExecutionSettings;

describe('execution limits', () => {
  it('when a memory quantity is parsed, then binary and decimal units give bytes', () => {
    expect(memoryQuantityBytes('128Mi')).toBe(128 * 1024 * 1024);
    expect(memoryQuantityBytes('1G')).toBe(1e9);
    expect(memoryQuantityBytes('1.5Ki')).toBe(1536);
    expect(() => memoryQuantityBytes('lots')).toThrow('not a memory quantity');
  });

  it('when nothing is requested, then the maxima apply', () => {
    expect(resolveLimits(undefined, maxLimits(settings))).toEqual({
      wall_seconds: 5,
      cpu_seconds: 3,
      memory_bytes: 134217728,
      max_processes: 32,
      max_file_bytes: 1024,
      max_output_bytes: 2048,
    });
  });

  it('when lower limits are requested, then they are used', () => {
    expect(resolveLimits({ wall_seconds: 2, memory_bytes: 1000 }, maxLimits(settings))).toMatchObject({
      wall_seconds: 2,
      memory_bytes: 1000,
      cpu_seconds: 3,
    });
  });

  it('when limits above the maxima are requested, then a validation error names each field', () => {
    let error: unknown;
    try {
      resolveLimits({ wall_seconds: 60, max_processes: 1000 }, maxLimits(settings));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('validation');
    expect((error as AppError).details).toEqual([
      { field: 'limits.wall_seconds', message: 'at most 5' },
      { field: 'limits.max_processes', message: 'at most 32' },
    ]);
  });
});

describe('executionView', () => {
  it('when output is not valid UTF-8, then the exact bytes are added in base64', () => {
    const now = new Date();
    const view = executionView({
      id: 'e',
      userId: 'u',
      lang: 'python',
      langVersion: '3.11',
      script: '',
      stdin: '',
      args: [],
      limits: maxLimits(settings),
      priority: 'normal',
      status: 'completed',
      requestPublished: true,
      outcome: {
        exitCode: 0,
        signal: null,
        stdout: Buffer.from([0xff, 0x41]),
        stderr: Buffer.from('fine'),
        outputTruncated: false,
        resourceUsage: null,
        reason: null,
      },
      createdAt: now,
      updatedAt: now,
      scheduledAt: null,
      startedAt: null,
      finishedAt: now,
    });
    expect(view.stdout_b64).toBe(Buffer.from([0xff, 0x41]).toString('base64'));
    expect(view.stderr).toBe('fine');
    expect(view).not.toHaveProperty('stderr_b64');
    expect(view.finished).toBe(true);
  });
});
