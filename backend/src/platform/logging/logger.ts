import { destination, pino, stdTimeFunctions, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Paths pino blanks out wherever they appear in a log object. */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  'SECRET_KEY',
  '*.SECRET_KEY',
  'MONGO_PASSWORD',
  '*.MONGO_PASSWORD',
  'REDIS_PASSWORD',
  '*.REDIS_PASSWORD',
  'MONGODB_URL',
  '*.MONGODB_URL',
  'token',
  '*.token',
  'access_token',
  '*.access_token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers.cookie',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
];

export interface LoggerOptions {
  service: string;
  version: string;
  level: string;
  /** Where lines go; stdout by default. Tests pass a stream to read what was logged. */
  destination?: DestinationStream;
}

/** The root JSON logger of a process; components take `logger.child({ component })`. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { service: options.service, version: options.version, pid: process.pid },
      timestamp: stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? destination({ sync: false }),
  );
}

/** A child logger that carries the correlation id (execution id or trace id) on every line. */
export function withCorrelation(logger: Logger, correlationId: string, extra: object = {}): Logger {
  return logger.child({ correlation_id: correlationId, ...extra });
}
