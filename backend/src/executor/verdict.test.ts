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
  it("when a 128+N status comes with the supervisor's evidence for that signal, then it is reported as the signal", () => {
    expect(decodeExitStatus({ ...base, exitCode: 137, killReason: 'timeout' })).toEqual({
      exitCode: null,
      signal: 'SIGKILL',
    });
    expect(decodeExitStatus({ ...base, exitCode: 137, oomKills: 1 })).toMatchObject({ signal: 'SIGKILL' });
    expect(decodeExitStatus({ ...base, exitCode: 152, cpuSeconds: 2 })).toEqual({
      exitCode: null,
      signal: 'SIGXCPU',
    });
  });

  it.each([137, 143, 152, 139, 153])(
    'when the status is %i and the supervisor saw nothing, then it stays that exit code with a reason naming both readings',
    (code) => {
      const status = decodeExitStatus({ ...base, exitCode: code });
      expect(status).toMatchObject({ exitCode: code, signal: null });
      expect(status.reason).toContain(`exit status ${code}`);
    },
  );

  it('when the exit status is an ordinary code, then it stays a code', () => {
    expect(decodeExitStatus({ ...base, exitCode: 3 })).toEqual({ exitCode: 3, signal: null });
    expect(decodeExitStatus({ ...base, exitCode: 128 })).toEqual({ exitCode: 128, signal: null });
    expect(decodeExitStatus({ ...base, exitCode: 255 })).toEqual({ exitCode: 255, signal: null });
  });

  it('when the sandbox process itself died by a signal, then the signal wins', () => {
    expect(decodeExitStatus({ ...base, exitCode: null, signal: 'SIGKILL' })).toEqual({
      exitCode: null,
      signal: 'SIGKILL',
    });
  });
});

describe('classify', () => {
  it('when the script exits non-zero, then it is completed with that code', () => {
    expect(classify({ ...base, exitCode: 3 })).toEqual({ verdict: 'completed', exitCode: 3, signal: null });
  });

  it('when the script dies by SIGSEGV (status 139), then it is completed with exit status 139 and a reason', () => {
    expect(classify({ ...base, exitCode: 128 + 11 })).toMatchObject({
      verdict: 'completed',
      exitCode: 139,
      signal: null,
      reason: expect.stringContaining('SIGSEGV') as unknown,
    });
  });

  it.each([
    [152, 'SIGXCPU'],
    [137, 'SIGKILL'],
    [143, 'SIGTERM'],
  ])(
    'when the script exits %i without supervisor evidence (no kill, no OOM, CPU below the limit), then it is completed with that exit code',
    (code, name) => {
      const c = classify({ ...base, exitCode: code, cpuSeconds: 0.02 });
      expect(c).toMatchObject({ verdict: 'completed', exitCode: code, signal: null });
      expect(c.reason).toContain(name);
    },
  );

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

  it('when RLIMIT_CPU sent SIGXCPU (the cgroup CPU time at the limit), then the verdict is cpu_limit', () => {
    expect(classify({ ...base, exitCode: 128 + 24, cpuSeconds: 2 })).toMatchObject({
      verdict: 'cpu_limit',
      exitCode: null,
      signal: 'SIGXCPU',
    });
  });

  it('when SIGXCPU came well below the CPU limit (the script sent it), then it is completed, not cpu_limit', () => {
    expect(classify({ ...base, exitCode: 128 + 24, cpuSeconds: 0.05 })).toMatchObject({
      verdict: 'completed',
      exitCode: 152,
      reason: expect.stringContaining('not the CPU time limit') as unknown,
    });
  });

  it('when SIGKILL came with CPU usage at the limit (RLIMIT_CPU hard limit), then cpu_limit', () => {
    expect(classify({ ...base, exitCode: 137, cpuSeconds: 3 }).verdict).toBe('cpu_limit');
    expect(classify({ ...base, exitCode: 137, cpuSeconds: 0.5 }).verdict).toBe('completed');
  });

  it('when the status is 153 (SIGXFSZ or exit(153)), then it is completed with that code and a file size reason', () => {
    expect(classify({ ...base, exitCode: 128 + 25 })).toMatchObject({
      verdict: 'completed',
      exitCode: 153,
      signal: null,
      reason: expect.stringContaining('file size') as unknown,
    });
  });

  it('when forks were refused, then the reason says so', () => {
    expect(classify({ ...base, pidsLimitHits: 7, killReason: 'timeout' }).reason).toContain('7 fork(s)');
    expect(classify({ ...base, pidsLimitHits: 7 }).reason).toContain('7 fork(s)');
  });
});

describe('decodeExitStatus: which evidence counts for which signal', () => {
  const bothReadings = (code: number, name: string): string =>
    `exit status ${code}: the script exited with ${code} or was killed by ${name} (the sandbox reports both alike)`;

  it('when the status is 137 and we killed the run for any reason, then it is SIGKILL', () => {
    for (const killReason of ['cancelled', 'timeout', 'cpu_limit', 'output_limit'] as const) {
      expect(decodeExitStatus({ ...base, exitCode: 137, killReason })).toEqual({
        exitCode: null,
        signal: 'SIGKILL',
      });
    }
  });

  it('when the status is 143 (SIGTERM) or 152 (SIGXCPU) and we killed the run or the kernel OOM-killed, then it stays an exit code: only SIGKILL is ours', () => {
    expect(decodeExitStatus({ ...base, exitCode: 143, killReason: 'timeout', oomKills: 1 })).toEqual({
      exitCode: 143,
      signal: null,
      reason: bothReadings(143, 'SIGTERM'),
    });
    expect(decodeExitStatus({ ...base, exitCode: 152, killReason: 'timeout', oomKills: 1 })).toMatchObject({
      exitCode: 152,
      signal: null,
    });
  });

  it('when the CPU time is exactly 90% of the limit, then it counts as reached; just below, it does not', () => {
    // Limit 2 s: 0.9 × 2 = 1.8 exactly.
    expect(decodeExitStatus({ ...base, exitCode: 152, cpuSeconds: 1.8 })).toEqual({
      exitCode: null,
      signal: 'SIGXCPU',
    });
    expect(decodeExitStatus({ ...base, exitCode: 137, cpuSeconds: 1.8 })).toEqual({
      exitCode: null,
      signal: 'SIGKILL',
    });
    expect(decodeExitStatus({ ...base, exitCode: 152, cpuSeconds: 1.79 })).toMatchObject({
      exitCode: 152,
      signal: null,
    });
    expect(decodeExitStatus({ ...base, exitCode: 137, cpuSeconds: 1.79 })).toMatchObject({
      exitCode: 137,
      signal: null,
    });
  });

  it('when the status reads as a signal without evidence, then the reason names both readings and what the signal would mean', () => {
    expect(decodeExitStatus({ ...base, exitCode: 139 }).reason).toBe(bothReadings(139, 'SIGSEGV'));
    expect(decodeExitStatus({ ...base, exitCode: 153 }).reason).toBe(
      `${bothReadings(153, 'SIGXFSZ')}; SIGXFSZ is the file size limit`,
    );
    expect(decodeExitStatus({ ...base, exitCode: 152 }).reason).toBe(
      `${bothReadings(152, 'SIGXCPU')}; not the CPU time limit, which was not reached`,
    );
  });

  it('when the status is above 128 but 128+N names no signal, then it stays a plain code', () => {
    expect(decodeExitStatus({ ...base, exitCode: 250 })).toEqual({ exitCode: 250, signal: null });
  });

  it('when there is neither a status nor a signal, then both stay null', () => {
    expect(decodeExitStatus({ ...base, exitCode: null })).toEqual({ exitCode: null, signal: null });
  });
});

describe('classify: exact reasons', () => {
  it('when cancelled, then the reason is exactly "cancelled on request" and the status is kept', () => {
    expect(classify({ ...base, exitCode: null, signal: 'SIGKILL', killReason: 'cancelled' })).toEqual({
      verdict: 'cancelled',
      exitCode: null,
      signal: 'SIGKILL',
      reason: 'cancelled on request',
    });
  });

  it('when OOM-killed, then the reason gives the limit in MiB to one decimal and the count of processes', () => {
    expect(classify({ ...base, exitCode: 137, oomKills: 1 })).toEqual({
      verdict: 'memory_limit',
      exitCode: null,
      signal: 'SIGKILL',
      reason: 'memory limit of 64 MiB exceeded (1 process(es) OOM-killed)',
    });
    const odd = { ...base.limits, memoryBytes: 100_000_000 };
    expect(classify({ ...base, exitCode: 137, oomKills: 3, limits: odd }).reason).toBe(
      'memory limit of 95.4 MiB exceeded (3 process(es) OOM-killed)',
    );
  });

  it.each([
    ['output_limit', 'output exceeded 1000 bytes'],
    ['timeout', 'wall time limit of 3 s exceeded'],
    ['cpu_limit', 'CPU time limit of 2 s exceeded'],
  ] as const)('when we killed the run for %s, then the reason is %j', (killReason, reason) => {
    expect(classify({ ...base, exitCode: null, signal: 'SIGKILL', killReason })).toEqual({
      verdict: killReason,
      exitCode: null,
      signal: 'SIGKILL',
      reason,
    });
  });

  it('when RLIMIT_CPU ended the run by SIGXCPU, then the reason names the CPU limit', () => {
    expect(classify({ ...base, exitCode: 152, cpuSeconds: 2.01 })).toEqual({
      verdict: 'cpu_limit',
      exitCode: null,
      signal: 'SIGXCPU',
      reason: 'CPU time limit of 2 s exceeded',
    });
  });

  it('when forks were refused, then the note is appended to every limit reason', () => {
    const note = '; 7 fork(s) refused by the process limit';
    const f = { ...base, exitCode: null, signal: 'SIGKILL', pidsLimitHits: 7 };
    expect(classify({ ...f, killReason: 'timeout' }).reason).toBe(`wall time limit of 3 s exceeded${note}`);
    expect(classify({ ...f, killReason: 'cpu_limit' }).reason).toBe(`CPU time limit of 2 s exceeded${note}`);
    expect(classify({ ...f, killReason: 'output_limit' }).reason).toBe(`output exceeded 1000 bytes${note}`);
    expect(classify({ ...f, oomKills: 2 }).reason).toBe(
      `memory limit of 64 MiB exceeded (2 process(es) OOM-killed)${note}`,
    );
  });

  it('when a completed run had forks refused, then the reason is just that note, without a leading separator', () => {
    expect(classify({ ...base, exitCode: 1, pidsLimitHits: 2 })).toEqual({
      verdict: 'completed',
      exitCode: 1,
      signal: null,
      reason: '2 fork(s) refused by the process limit',
    });
  });

  it('when a completed run has both a status note and refused forks, then they are joined with "; "', () => {
    expect(classify({ ...base, exitCode: 139, pidsLimitHits: 1 }).reason).toBe(
      'exit status 139: the script exited with 139 or was killed by SIGSEGV (the sandbox reports both alike); 1 fork(s) refused by the process limit',
    );
  });

  it('when a completed run has a status note and no refused forks, then the reason is the note alone', () => {
    expect(classify({ ...base, exitCode: 139 }).reason).toBe(
      'exit status 139: the script exited with 139 or was killed by SIGSEGV (the sandbox reports both alike)',
    );
  });

  it('when no fork was refused, then no note is added', () => {
    expect(classify({ ...base, killReason: 'timeout', pidsLimitHits: 0 }).reason).toBe(
      'wall time limit of 3 s exceeded',
    );
    expect(classify({ ...base, exitCode: 0 })).toEqual({ verdict: 'completed', exitCode: 0, signal: null });
  });

  it('when the CPU time is at the limit but the run exited normally, then it is completed, not cpu_limit', () => {
    expect(classify({ ...base, exitCode: 0, cpuSeconds: 2 })).toEqual({
      verdict: 'completed',
      exitCode: 0,
      signal: null,
    });
  });

  it('when the sandbox process was SIGKILLed by someone else (no kill, no OOM, CPU low), then it is completed with that signal', () => {
    expect(classify({ ...base, exitCode: null, signal: 'SIGKILL', cpuSeconds: 0.3 })).toEqual({
      verdict: 'completed',
      exitCode: null,
      signal: 'SIGKILL',
    });
  });
});
