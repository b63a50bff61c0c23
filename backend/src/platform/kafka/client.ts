import { connect as netConnect, isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Kafka, logLevel, type ISocketFactory, type LogEntry, type logCreator } from 'kafkajs';
import type { Settings } from '../../settings/settings.js';
import type { Logger } from '../logging/logger.js';
import { fixKafkajsRequestQueue } from './request-queue-fix.js';

export type KafkaClientSettings = Pick<
  Settings,
  'KAFKA_BOOTSTRAP_SERVERS' | 'KAFKA_REQUEST_TIMEOUT_MS' | 'TRACING_SERVICE_NAME'
>;

/** The process's Kafka client; producers, consumers and admins are made from it. */
export function createKafka(settings: KafkaClientSettings, logger: Logger): Kafka {
  fixKafkajsRequestQueue();
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: settings.TRACING_SERVICE_NAME,
    brokers: parseBrokers(settings.KAFKA_BOOTSTRAP_SERVERS),
    requestTimeout: settings.KAFKA_REQUEST_TIMEOUT_MS,
    logLevel: kafkaLogLevelFor(kafkaLogger),
    logCreator: kafkaLogCreator(kafkaLogger),
    socketFactory: noDelaySocketFactory,
  });
}

/**
 * kafkajs's own socket factory leaves Nagle's algorithm on. A consumer's connection carries a
 * long-poll fetch the broker does not answer (nor, for up to ~40 ms, acknowledge) until data
 * arrives; a heartbeat or offset commit written meanwhile is then held back by Nagle until that
 * delayed ACK. Small requests must go out at once, as the broker's own sockets do (TCP_NODELAY).
 */
const noDelaySocketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  const socket = ssl
    ? tlsConnect({ host, port, ...(isIP(host) ? {} : { servername: host }), ...ssl }, onConnect)
    : netConnect({ host, port }, onConnect);
  socket.setNoDelay(true);
  // kafkajs's factory keeps connections alive the same way.
  socket.setKeepAlive(true, 60_000);
  return socket;
};

export function parseBrokers(list: string): string[] {
  return list
    .split(',')
    .map((broker) => broker.trim())
    .filter((broker) => broker !== '');
}

/**
 * kafkajs INFO lines are lifecycle chatter our components already log, so they go to debug, and
 * kafkajs DEBUG (per-request detail) to trace.
 */
export function kafkaLogCreator(logger: Logger): logCreator {
  return () => (entry: LogEntry) => {
    const { message, timestamp: _timestamp, logger: _origin, error, ...extra } = entry.log;
    const fields: Record<string, unknown> = { kafkajs_namespace: entry.namespace, ...extra };
    // pino serializes an Error only under `err`; kafkajs passes either an Error or its message.
    if (error instanceof Error) fields.err = error;
    else if (error !== undefined) fields.error = error;
    switch (entry.level) {
      case logLevel.ERROR:
        logger.error(fields, message);
        return;
      case logLevel.WARN:
        logger.warn(fields, message);
        return;
      case logLevel.INFO:
        logger.debug(fields, message);
        return;
      case logLevel.DEBUG:
        logger.trace(fields, message);
        return;
      case logLevel.NOTHING:
        return;
    }
  };
}

/** Lets kafkajs skip building lines the pino logger would drop anyway. */
function kafkaLogLevelFor(logger: Logger): logLevel {
  if (logger.isLevelEnabled('trace')) return logLevel.DEBUG;
  if (logger.isLevelEnabled('debug')) return logLevel.INFO;
  if (logger.isLevelEnabled('warn')) return logLevel.WARN;
  if (logger.isLevelEnabled('error')) return logLevel.ERROR;
  return logLevel.NOTHING;
}
