import type { OutputStream } from './executor-backend.js';

/**
 * Counts stdout + stderr against one byte budget. A chunk that crosses the budget is cut at exactly
 * the cap; everything after it is dropped. Keeps what it passed so the outcome holds the same bytes
 * the sink saw.
 */
export class OutputCap {
  private remaining: number;
  private readonly kept: Record<OutputStream, Buffer[]> = { stdout: [], stderr: [] };
  private exceeded = false;

  constructor(readonly maxBytes: number) {
    this.remaining = maxBytes;
  }

  /** The part of `chunk` that fits (null when nothing does) and whether the cap was just crossed. */
  accept(stream: OutputStream, chunk: Buffer): { pass: Buffer | null; crossed: boolean } {
    if (this.exceeded) return { pass: null, crossed: false };
    if (chunk.length <= this.remaining) {
      this.remaining -= chunk.length;
      if (chunk.length > 0) this.kept[stream].push(chunk);
      return { pass: chunk.length > 0 ? chunk : null, crossed: false };
    }
    this.exceeded = true;
    const part = chunk.subarray(0, this.remaining);
    this.remaining = 0;
    if (part.length > 0) this.kept[stream].push(part);
    return { pass: part.length > 0 ? part : null, crossed: true };
  }

  get truncated(): boolean {
    return this.exceeded;
  }

  collected(stream: OutputStream): Buffer {
    return Buffer.concat(this.kept[stream]);
  }
}
