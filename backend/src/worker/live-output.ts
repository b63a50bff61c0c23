import type { OutputStream as StreamName } from '../executor/executor-backend.js';

/** One execution_output payload. */
export interface OutputChunk {
  execution_id: string;
  stream: StreamName;
  seq: number;
  data_b64: string;
}

export interface LiveOutputOptions {
  executionId: string;
  /** Publishes chunks in the order given; the next call waits for the previous one. */
  publish: (chunks: OutputChunk[]) => Promise<void>;
  /** Flush a pending batch this long after its first byte arrived. Default 20 ms. */
  flushMs?: number;
  /** Flush at once when this many bytes are pending. Default 16 KiB. */
  flushBytes?: number;
  /** Told once, on the first failed publish (the run is then pointless: stop it). */
  onPublishError?: (err: unknown) => void;
}

/**
 * Turns an execution's live output into execution_output events: chunks are batched (per run,
 * every `flushMs` or `flushBytes`, whichever comes first), numbered 0, 1, 2… across both streams
 * in the order produced, and published one batch after the other so the order on the partition
 * is the order of `seq`. `finish()` hands back what is still pending so the caller can publish it
 * together with the terminal event, saving a round trip at the end of every run.
 */
export class LiveOutput {
  private readonly flushMs: number;
  private readonly flushBytes: number;
  /** Contiguous pieces of one stream each; a stream switch starts a new piece. */
  private pending: { stream: StreamName; parts: Buffer[] }[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private nextSeq = 0;
  private failure: { err: unknown } | undefined;
  private finished = false;

  constructor(private readonly options: LiveOutputOptions) {
    this.flushMs = options.flushMs ?? 20;
    this.flushBytes = options.flushBytes ?? 16 * 1024;
  }

  /** Chunks handed out so far (published, being published, or returned by finish()). */
  get chunkCount(): number {
    return this.nextSeq;
  }

  /** Runs `first` (the started event) before any output batch. */
  after(first: Promise<void>): void {
    this.chain = this.chain.then(() => first).catch((err: unknown) => this.fail(err));
  }

  push(stream: StreamName, data: Buffer): void {
    if (this.finished || data.length === 0) return;
    const last = this.pending.at(-1);
    if (last?.stream === stream) last.parts.push(data);
    else this.pending.push({ stream, parts: [data] });
    this.pendingBytes += data.length;
    if (this.pendingBytes >= this.flushBytes) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.flushMs);
  }

  /**
   * Stops batching, waits for every batch already handed to `publish`, and returns the chunks
   * still pending (to be published right before the terminal event). Throws if a publish failed.
   */
  async finish(): Promise<OutputChunk[]> {
    this.finished = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const rest = this.take();
    await this.chain;
    if (this.failure) throw this.failure.err;
    return rest;
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const chunks = this.take();
    if (chunks.length === 0) return;
    this.chain = this.chain
      .then(() => (this.failure ? undefined : this.options.publish(chunks)))
      .catch((err: unknown) => this.fail(err));
  }

  private take(): OutputChunk[] {
    const chunks = this.pending.map(({ stream, parts }) => ({
      execution_id: this.options.executionId,
      stream,
      seq: this.nextSeq++,
      data_b64: Buffer.concat(parts).toString('base64'),
    }));
    this.pending = [];
    this.pendingBytes = 0;
    return chunks;
  }

  private fail(err: unknown): void {
    if (this.failure) return;
    this.failure = { err };
    this.options.onPublishError?.(err);
  }
}
