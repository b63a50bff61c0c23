import { describe, expect, it } from 'vitest';
import { createLogger, withCorrelation, type Logger } from './logger.js';

/** A real logger at `level` whose raw JSON lines are collected instead of written to stdout. */
function capture(level = 'info'): { logger: Logger; raw: string[]; lines: () => Record<string, unknown>[] } {
  const raw: string[] = [];
  const logger = createLogger({
    service: 'logger-test',
    version: '9.9.9',
    level,
    destination: { write: (line: string) => void raw.push(line) },
  });
  return { logger, raw, lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createLogger', () => {
  it('when a line is logged, then it is one JSON object with service, version, the level label and the message', () => {
    const { logger, raw, lines } = capture();
    logger.warn({ attempt: 2 }, 'retrying');
    expect(raw).toHaveLength(1);
    expect(raw[0]!.endsWith('\n')).toBe(true);
    expect(lines()[0]).toMatchObject({
      service: 'logger-test',
      version: '9.9.9',
      pid: process.pid,
      level: 'warn',
      msg: 'retrying',
      attempt: 2,
    });
    expect(typeof lines()[0]!.time).toBe('string');
    expect(Number.isNaN(Date.parse(lines()[0]!.time as string))).toBe(false);
  });

  it('when a line is below the configured level, then nothing is written', () => {
    const { logger, raw } = capture('info');
    logger.debug('noise');
    expect(raw).toEqual([]);
    logger.info('signal');
    expect(raw).toHaveLength(1);
  });

  it('when a log object carries secrets at the known paths, then each is written as "[redacted]"', () => {
    const { logger, raw, lines } = capture();
    logger.info(
      {
        password: 'top-level-pw',
        SECRET_KEY: 'a-very-secret-signing-key-0123456789',
        MONGODB_URL: 'mongodb://root:mongo-pw@mongo:27017/db',
        user: { name: 'ada', password: 'nested-pw' },
        headers: { authorization: 'Bearer header-token', accept: 'application/json' },
        req: { headers: { cookie: 'session=cookie-value' } },
      },
      'login',
    );
    const line = lines()[0]!;
    expect(line).toMatchObject({
      password: '[redacted]',
      SECRET_KEY: '[redacted]',
      MONGODB_URL: '[redacted]',
      user: { name: 'ada', password: '[redacted]' },
      headers: { authorization: '[redacted]', accept: 'application/json' },
      req: { headers: { cookie: '[redacted]' } },
    });
    for (const secret of [
      'top-level-pw',
      'a-very-secret-signing-key',
      'mongo-pw',
      'nested-pw',
      'header-token',
      'cookie-value',
    ]) {
      expect(raw[0], secret).not.toContain(secret);
    }
  });

  it("when the secrets are on a child logger's bindings, then they are redacted there too", () => {
    const { logger, raw } = capture();
    logger.child({ password: 'bound-pw' }).info('child line');
    expect(JSON.parse(raw[0]!)).toMatchObject({ password: '[redacted]' });
    expect(raw[0]).not.toContain('bound-pw');
  });
});

describe('withCorrelation', () => {
  it('when a child is made with a correlation id, then every line of the child carries correlation_id', () => {
    const { logger, lines } = capture();
    const child = withCorrelation(logger, 'exec-42', { component: 'saga' });
    child.info('first');
    child.error({ step: 'allocate' }, 'second');
    child.child({ sub: 'x' }).warn('third');
    logger.info('parent');
    const [first, second, third, parent] = lines();
    for (const line of [first, second, third]) {
      expect(line).toMatchObject({ correlation_id: 'exec-42', component: 'saga', service: 'logger-test' });
    }
    expect(second).toMatchObject({ step: 'allocate', level: 'error' });
    expect(parent).not.toHaveProperty('correlation_id');
  });
});
