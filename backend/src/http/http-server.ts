import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { type Component, LifecycleGate } from '../platform/lifecycle/component.js';
import type { Logger } from '../platform/logging/logger.js';

export interface HttpServerOptions {
  app: Express;
  host: string;
  port: number;
  backlog: number;
  requestTimeoutMs: number;
  logger: Logger;
}

/** The listening socket; stop() refuses new connections and waits for in-flight requests. */
export class HttpServer implements Component {
  readonly name = 'http';
  private readonly gate = new LifecycleGate();
  private readonly server: Server;

  constructor(private readonly options: HttpServerOptions) {
    this.server = createServer(options.app);
    this.server.requestTimeout = options.requestTimeoutMs;
    this.server.headersTimeout = Math.min(options.requestTimeoutMs, 60_000);
  }

  /** The bound port (useful when configured as 0). */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  start(): Promise<void> {
    return this.gate.start(
      () =>
        new Promise<void>((resolve, reject) => {
          this.server.once('error', reject);
          this.server.listen(
            { host: this.options.host, port: this.options.port, backlog: this.options.backlog },
            () => {
              this.server.off('error', reject);
              this.options.logger.info({ host: this.options.host, port: this.port }, 'http listening');
              resolve();
            },
          );
        }),
    );
  }

  stop(): Promise<void> {
    return this.gate.stop(
      () =>
        new Promise<void>((resolve, reject) => {
          this.server.close((err) => (err ? reject(err) : resolve()));
          this.server.closeIdleConnections();
        }),
    );
  }
}
