import { Writable } from 'node:stream';
import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logging/logger.js';
import { kafkaLogCreator, parseBrokers } from './client.js';

function capturingLogger(level: string) {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger({ service: 'test', version: '0', level, destination }) };
}

describe('parseBrokers', () => {
  it('when the list has spaces and empty entries, then only the addresses remain', () => {
    expect(parseBrokers(' kafka-1:9092, kafka-2:9092,,')).toEqual(['kafka-1:9092', 'kafka-2:9092']);
  });
});

describe('kafkaLogCreator', () => {
  const entry = (level: logLevel, extra: Record<string, unknown> = {}) => ({
    namespace: 'Consumer',
    level,
    label: 'X',
    log: { timestamp: 'now', logger: 'kafkajs', message: `message ${level}`, ...extra },
  });

  it('when kafkajs logs, then errors and warnings keep their level and info becomes debug', () => {
    const { lines, logger } = capturingLogger('trace');
    const log = kafkaLogCreator(logger)(logLevel.DEBUG);
    log(entry(logLevel.ERROR, { groupId: 'g', error: new Error('boom') }));
    log(entry(logLevel.WARN));
    log(entry(logLevel.INFO));
    log(entry(logLevel.DEBUG));

    expect(lines.map((line) => line.level)).toEqual(['error', 'warn', 'debug', 'trace']);
    expect(lines[0]).toMatchObject({
      msg: 'message 1',
      kafkajs_namespace: 'Consumer',
      groupId: 'g',
      err: { message: 'boom' },
    });
    expect(lines[0]).not.toHaveProperty('timestamp');
  });

  it('when the logger level is warn, then kafkajs info lines are dropped', () => {
    const { lines, logger } = capturingLogger('warn');
    const log = kafkaLogCreator(logger)(logLevel.INFO);
    log(entry(logLevel.INFO));
    log(entry(logLevel.WARN, { error: 'plain message' }));

    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'warn', error: 'plain message' });
  });
});
