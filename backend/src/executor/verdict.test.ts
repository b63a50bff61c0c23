import { describe, expect, it } from 'vitest';
import { classify, decodeExitStatus, type RunFacts } from './verdict.js';

const base: RunFacts = {
  exitCode: 0,
  signal: null,
  oomKills: 0,
  pidsLimitHits: 0,
  cpuSeconds: 0.1,
  limits: { cpuSeconds: 2, wallSeconds: 3, memoryBytes: 64 * 1024 * 1024, maxOutputBytes: 1000 },
};

describe('decodeExitStatus', () => {
  it('when the exit status is 128+N for a known signal, then it is reported as that signal', () => {
    expect(decodeExitStatus(137, null)).toEqual({ exitCode: null, signal: 'SIGKILL' });
    expect(decodeExitStatus(152, null)).toEqual({ exitCode: null, signal: 'SIGXCPU' });
  });

  it('when the exit status is an ordinary code, then it stays a code', () => {
    expect(decodeExitStatus(3, null)).toEqual({ exitCode: 3, signal: null });
    expect(decodeExitStatus(128, null)).toEqual({ exitCode: 128, signal: null });
    expect(decodeExitStatus(255, null)).toEqual({ exitCode: 255, signal: null });
  });

  it('when the sandbox process itself died by a signal, then the signal wins', () => {
    expect(decodeExitStatus(null, 'SIGKILL')).toEqual({ exitCode: null, signal: 'SIGKILL' });
  });
});

describe('classify', () => {
  it('when the script exits non-zero, then it is completed with that code', () => {
    expect(classify({ ...base, exitCode: 3 })).toEqual({ verdict: 'completed', exitCode: 3, signal: null });
  });

  it('when the script is killed by a signal it sent itself, then it is completed with the signal', () => {
    expect(classify({ ...base, exitCode: 128 + 11 })).toMatchObject({
      verdict: 'completed',
      signal: 'SIGSEGV',
    });
  });

  it('when the kernel OOM-killed a process, then the verdict is memory_limit even if we also timed out', () => {
    const c = classify({ ...base, exitCode: 137, oomKills: 1, killReason: 'timeout' });
    expect(c.verdict).toBe('memory_limit');
    expect(c.reason).toContain('64 MiB');
  });

  it('when cancelled, then cancelled outranks everything else', () => {
    expect(classify({ ...base, killReason: 'cancelled', oomKills: 2, setupError: 'x' }).verdict).toBe(
      'cancelled',
    );
  });

  it('when the sandbox could not be set up, then the verdict is failed with the reason', () => {
    expect(classify({ ...base, exitCode: 1, setupError: 'bwrap: no permission' })).toMatchObject({
      verdict: 'failed',
      reason: 'bwrap: no permission',
    });
  });

  it.each([
    ['timeout', 'timeout'],
    ['cpu_limit', 'cpu_limit'],
    ['output_limit', 'output_limit'],
  ] as const)('when the executor killed for %s, then the verdict is %s', (killReason, verdict) => {
    expect(classify({ ...base, signal: 'SIGKILL', exitCode: null, killReason }).verdict).toBe(verdict);
  });

  it('when RLIMIT_CPU sent SIGXCPU, then the verdict is cpu_limit', () => {
    expect(classify({ ...base, exitCode: 128 + 24 }).verdict).toBe('cpu_limit');
  });

  it('when SIGKILL came with CPU usage at the limit (RLIMIT_CPU hard limit), then cpu_limit', () => {
    expect(classify({ ...base, exitCode: 137, cpuSeconds: 3 }).verdict).toBe('cpu_limit');
    expect(classify({ ...base, exitCode: 137, cpuSeconds: 0.5 }).verdict).toBe('completed');
  });

  it('when SIGXFSZ ended the script, then it is completed with a file size reason', () => {
    expect(classify({ ...base, exitCode: 128 + 25 })).toMatchObject({
      verdict: 'completed',
      signal: 'SIGXFSZ',
      reason: expect.stringContaining('file size') as unknown,
    });
  });

  it('when forks were refused, then the reason says so', () => {
    expect(classify({ ...base, pidsLimitHits: 7, killReason: 'timeout' }).reason).toContain('7 fork(s)');
    expect(classify({ ...base, pidsLimitHits: 7 }).reason).toContain('7 fork(s)');
  });
});
