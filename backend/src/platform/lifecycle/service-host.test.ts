import { describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '../logging/logger.js';
import type { Component } from './component.js';
import { ServiceHost } from './service-host.js';

interface LogLine {
  level: string;
  msg: string;
  component?: string;
  err?: { message: string };
  [key: string]: unknown;
}

/** A real pino logger whose JSON lines land in `lines` instead of stdout. */
function capturingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = createLogger({
    service: 'service-host-test',
    version: '0',
    level: 'info',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  });
  return { logger, lines };
}

interface FakeOptions {
  failStart?: Error;
  failStop?: Error;
  /** A promise stop waits on before resolving (lets a test hold a stop open). */
  stopWaitsFor?: Promise<void>;
}

/** A component that records "start:<name>" / "stop:<name>" in the shared `calls` list. */
function fake(name: string, calls: string[], options: FakeOptions = {}): Component {
  return {
    name,
    start: () => {
      calls.push(`start:${name}`);
      return options.failStart ? Promise.reject(options.failStart) : Promise.resolve();
    },
    stop: async () => {
      calls.push(`stop:${name}`);
      if (options.stopWaitsFor) await options.stopWaitsFor;
      if (options.failStop) throw options.failStop;
    },
  };
}

describe('ServiceHost', () => {
  it('when started and stopped, then components start in order and stop in reverse order', async () => {
    const calls: string[] = [];
    const { logger, lines } = capturingLogger();
    const host = new ServiceHost({
      logger,
      components: [fake('mongo', calls), fake('kafka', calls), fake('http', calls)],
      stopTimeoutMs: 5_000,
    });
    await host.start();
    expect(calls).toEqual(['start:mongo', 'start:kafka', 'start:http']);
    await host.stop();
    expect(calls).toEqual([
      'start:mongo',
      'start:kafka',
      'start:http',
      'stop:http',
      'stop:kafka',
      'stop:mongo',
    ]);
    const started = lines.filter((l) => l.msg === 'component started').map((l) => l.component);
    expect(started).toEqual(['mongo', 'kafka', 'http']);
    const stopped = lines.filter((l) => l.msg === 'component stopped').map((l) => l.component);
    expect(stopped).toEqual(['http', 'kafka', 'mongo']);
  });

  it('when the third component fails to start, then the first two are stopped in reverse and start rejects', async () => {
    const calls: string[] = [];
    const { logger, lines } = capturingLogger();
    const boom = new Error('port in use');
    const host = new ServiceHost({
      logger,
      components: [
        fake('a', calls),
        fake('b', calls),
        fake('c', calls, { failStart: boom }),
        fake('d', calls),
      ],
      stopTimeoutMs: 5_000,
    });
    await expect(host.start()).rejects.toBe(boom);
    expect(calls).toEqual(['start:a', 'start:b', 'start:c', 'stop:b', 'stop:a']);
    const failure = lines.find((l) => l.msg === 'component failed to start');
    expect(failure).toMatchObject({ level: 'error', component: 'c', err: { message: 'port in use' } });

    // The process then calls stop as usual: nothing is left to stop, and nothing is stopped twice.
    await expect(host.stop()).resolves.toBeUndefined();
    expect(calls).toEqual(['start:a', 'start:b', 'start:c', 'stop:b', 'stop:a']);
  });

  it('when a component throws while stopping, then the components before it are still stopped', async () => {
    const calls: string[] = [];
    const { logger, lines } = capturingLogger();
    const host = new ServiceHost({
      logger,
      components: [
        fake('a', calls),
        fake('b', calls, { failStop: new Error('socket already closed') }),
        fake('c', calls),
      ],
      stopTimeoutMs: 5_000,
    });
    await host.start();
    await expect(host.stop()).resolves.toBeUndefined();
    expect(calls.slice(3)).toEqual(['stop:c', 'stop:b', 'stop:a']);
    const failure = lines.find((l) => l.msg === 'component failed to stop cleanly');
    expect(failure).toMatchObject({
      level: 'error',
      component: 'b',
      err: { message: 'socket already closed' },
    });
    expect(lines.filter((l) => l.msg === 'component stopped').map((l) => l.component)).toEqual(['c', 'a']);
  });

  it('when stopping takes longer than stopTimeoutMs, then stop rejects with "stop timed out"', async () => {
    const calls: string[] = [];
    const { logger, lines } = capturingLogger();
    let release!: () => void;
    const hung = new Promise<void>((resolve) => {
      release = resolve;
    });
    const host = new ServiceHost({
      logger,
      components: [fake('a', calls), fake('stuck', calls, { stopWaitsFor: hung })],
      stopTimeoutMs: 50,
    });
    await host.start();
    try {
      await expect(host.stop()).rejects.toThrow('stop timed out after 50 ms');
      expect(lines.find((l) => l.msg.startsWith('stop timed out'))).toMatchObject({
        level: 'error',
        timeoutMs: 50,
        pending: ['a', 'stuck'],
      });
      expect(calls).not.toContain('stop:a');
    } finally {
      release();
    }
  });

  // SIGTERM during a hung start (e.g. a broker connect retrying forever) must still end the process.
  it('when stop is called while a component start hangs, then the started ones stop and stop settles within its timeout', async () => {
    const calls: string[] = [];
    const host = new ServiceHost({
      logger: createLogger({ service: 'service-host-test', version: '0', level: 'silent' }),
      components: [
        fake('a', calls),
        { name: 'hangs', start: () => new Promise<void>(() => {}), stop: () => Promise.resolve() },
      ],
      stopTimeoutMs: 50,
    });
    void host.start().catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'still pending'>((resolve) => {
      timer = setTimeout(() => resolve('still pending'), 2_000);
    });
    const settled = host.stop().then(
      () => 'settled' as const,
      () => 'settled' as const,
    );
    try {
      expect(await Promise.race([settled, deadline])).toBe('settled');
      expect(calls).toContain('stop:a');
    } finally {
      clearTimeout(timer);
    }
  });

  it('when stop is called twice, then each component is stopped once and both calls resolve', async () => {
    const calls: string[] = [];
    const { logger } = capturingLogger();
    const host = new ServiceHost({
      logger,
      components: [fake('a', calls), fake('b', calls)],
      stopTimeoutMs: 5_000,
    });
    await host.start();
    const first = host.stop();
    const second = host.stop();
    await expect(Promise.all([first, second])).resolves.toEqual([undefined, undefined]);
    await expect(host.stop()).resolves.toBeUndefined();
    expect(calls.filter((c) => c.startsWith('stop:'))).toEqual(['stop:b', 'stop:a']);
  });

  it('when start is called twice, then each component is started once', async () => {
    const calls: string[] = [];
    const host = new ServiceHost({
      logger: createLogger({ service: 'service-host-test', version: '0', level: 'silent' }),
      components: [fake('a', calls), fake('b', calls)],
      stopTimeoutMs: 5_000,
    });
    await Promise.all([host.start(), host.start()]);
    expect(calls).toEqual(['start:a', 'start:b']);
    await host.stop();
  });
});
