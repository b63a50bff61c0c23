import { describe, expect, it } from 'vitest';
import { RUNNER_PATH, runnerCommand, SCRIPT_DIR, TERMINATION_LOG, WORK_DIR } from './runner-command.js';

const LIMITS = { wallSeconds: 5, cpuSeconds: 1.5, maxOutputBytes: 65536, maxFileBytes: 1048576 };

describe('runnerCommand', () => {
  it('when given a program and args, then they follow -- after every flag, verbatim', () => {
    expect(
      runnerCommand({
        runnerPath: RUNNER_PATH,
        scriptDir: SCRIPT_DIR,
        workdir: WORK_DIR,
        stdinPath: `${SCRIPT_DIR}/stdin`,
        limits: LIMITS,
        program: ['python3', 'main.py'],
        args: ['--', '-x', '$(rm -rf /)', ''],
      }),
    ).toEqual([
      '/runner/integr8scode-runner',
      'run',
      '--script-dir',
      '/script',
      '--workdir',
      '/work',
      '--stdin',
      '/script/stdin',
      '--termination-log',
      TERMINATION_LOG,
      '--wall-seconds',
      '5',
      '--cpu-seconds',
      '1.5',
      '--max-output-bytes',
      '65536',
      '--max-file-bytes',
      '1048576',
      '--',
      'python3',
      'main.py',
      '--',
      '-x',
      '$(rm -rf /)',
      '',
    ]);
  });

  it('when there is no stdin, then --stdin is left out', () => {
    const argv = runnerCommand({
      runnerPath: RUNNER_PATH,
      scriptDir: SCRIPT_DIR,
      workdir: WORK_DIR,
      limits: LIMITS,
      program: ['bash', 'main.sh'],
      args: [],
    });
    expect(argv).not.toContain('--stdin');
    expect(argv.slice(-3)).toEqual(['--', 'bash', 'main.sh']);
  });

  it('when a limit is not positive or a byte count not an integer, then it throws', () => {
    const base = {
      runnerPath: RUNNER_PATH,
      scriptDir: SCRIPT_DIR,
      workdir: WORK_DIR,
      program: ['x'],
      args: [],
    };
    for (const limits of [
      { ...LIMITS, wallSeconds: 0 },
      { ...LIMITS, cpuSeconds: Number.NaN },
      { ...LIMITS, maxOutputBytes: 1.5 },
      { ...LIMITS, maxFileBytes: -1 },
    ]) {
      expect(() => runnerCommand({ ...base, limits })).toThrow(RangeError);
    }
    expect(() => runnerCommand({ ...base, limits: LIMITS, program: [] })).toThrow(RangeError);
  });
});
