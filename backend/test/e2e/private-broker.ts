import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBaseDir } from '../../src/settings/settings.js';

const root = findBaseDir(process.cwd());
const infraScript = join(root, 'scripts', 'infra.sh');
const JVM_OPTS = [
  '-Xms128m',
  '-Xmx384m',
  '-XX:+UseSerialGC',
  '-XX:TieredStopAtLevel=1',
  '-Djava.awt.headless=true',
];

/** The Kafka install scripts/infra.sh caches (its `up` in vitest's global setup fetches it). */
function kafkaHome(): string {
  const version = /^KAFKA_VERSION=(\S+)$/m.exec(readFileSync(infraScript, 'utf8'))?.[1];
  if (version === undefined) throw new Error(`no KAFKA_VERSION in ${infraScript}`);
  const cache = process.env.INFRA_CACHE_DIR ?? join(homedir(), '.cache', 'integr8scode');
  const home = join(cache, `kafka-${version}`);
  if (!existsSync(join(home, '.complete'))) {
    throw new Error(`Kafka ${version} is not installed in ${home}: run scripts/infra.sh up --profile test`);
  }
  return home;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * A single-node KRaft broker of the calling test's own, configured as scripts/infra.sh configures
 * the test profile's, on free ports and a temporary state dir, so the test may kill -9 it while
 * the shared test broker (port 19092) keeps serving the other test files. Its data survives
 * kill() and start(), as a real broker's disk does; destroy() kills it and removes everything.
 */
export class PrivateBroker {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly killOnExit = () => this.child?.kill('SIGKILL');

  private constructor(
    readonly port: number,
    readonly controllerPort: number,
    readonly dir: string,
    private readonly home: string,
  ) {}

  static async create(): Promise<PrivateBroker> {
    const home = kafkaHome();
    const port = await freePort();
    let controllerPort = await freePort();
    while (controllerPort === port) controllerPort = await freePort();
    const broker = new PrivateBroker(
      port,
      controllerPort,
      mkdtempSync(join(tmpdir(), 'private-kafka-')),
      home,
    );
    broker.writeConfig();
    broker.format();
    process.once('exit', broker.killOnExit);
    return broker;
  }

  get bootstrap(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Starts the broker on its data and waits until it answers a Metadata request listing itself. */
  async start(): Promise<void> {
    if (this.child) throw new Error('broker already running');
    const child = spawn(
      'java',
      [
        ...JVM_OPTS,
        `-Dintegr8scode.infra=${this.dir}/kafka`,
        `-Dlog4j.configuration=file:${this.dir}/log4j.properties`,
        '-cp',
        `${this.home}/libs/*`,
        'kafka.Kafka',
        join(this.dir, 'server.properties'),
      ],
      { stdio: 'ignore' },
    );
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    // Not spawnSync: the system's processes write their logs to this process's pipes meanwhile.
    const probe = spawn(
      process.execPath,
      [
        join(root, 'scripts', 'infra', 'probe.mjs'),
        'kafka',
        '127.0.0.1',
        String(this.port),
        '--timeout-ms',
        '90000',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    probe.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => probe.once('exit', resolve));
    if (code !== 0)
      throw new Error(`private broker not ready on ${this.bootstrap}: ${stderr} (logs in ${this.dir})`);
  }

  /** kill -9: no shutdown, no flush beyond what the OS already has. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    child.kill('SIGKILL');
    await this.exited;
  }

  async destroy(): Promise<void> {
    await this.kill();
    process.removeListener('exit', this.killOnExit);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private writeConfig(): void {
    const { dir, port, controllerPort } = this;
    writeFileSync(
      join(dir, 'server.properties'),
      [
        'node.id=1',
        'process.roles=broker,controller',
        `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
        'controller.listener.names=CONTROLLER',
        `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
        `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
        'inter.broker.listener.name=PLAINTEXT',
        'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
        `log.dirs=${dir}/data`,
        'auto.create.topics.enable=false',
        'num.partitions=1',
        'default.replication.factor=1',
        'min.insync.replicas=1',
        'offsets.topic.replication.factor=1',
        'transaction.state.log.replication.factor=1',
        'transaction.state.log.min.isr=1',
        'offsets.topic.num.partitions=1',
        'transaction.state.log.num.partitions=1',
        'group.initial.rebalance.delay.ms=0',
        'log.cleaner.dedupe.buffer.size=1048577',
        'num.network.threads=2',
        'num.io.threads=4',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'log4j.properties'),
      [
        'log4j.rootLogger=INFO, file',
        'log4j.appender.file=org.apache.log4j.FileAppender',
        `log4j.appender.file.File=${dir}/server.log`,
        'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
        'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
        'log4j.logger.kafka.request.logger=WARN',
        'log4j.logger.state.change.logger=WARN',
        '',
      ].join('\n'),
    );
  }

  private format(): void {
    // A cluster id is 16 random bytes in URL-safe base64 without padding (22 characters).
    const clusterId = randomBytes(16).toString('base64url');
    const formatted = spawnSync(
      'java',
      [
        ...JVM_OPTS,
        `-Dlog4j.configuration=file:${this.dir}/log4j.properties`,
        '-cp',
        `${this.home}/libs/*`,
        'kafka.tools.StorageTool',
        'format',
        '-t',
        clusterId,
        '-c',
        join(this.dir, 'server.properties'),
      ],
      { encoding: 'utf8' },
    );
    if (formatted.status !== 0) throw new Error(`formatting ${this.dir} failed: ${formatted.stderr}`);
  }
}
