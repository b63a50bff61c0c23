import { describe, expect, it } from 'vitest';
import { LiveOutput, type OutputChunk } from './live-output.js';

function collecting(options: { flushMs?: number; flushBytes?: number } = {}) {
  const published: OutputChunk[][] = [];
  const live = new LiveOutput({
    executionId: 'e1',
    publish: (chunks) => {
      published.push(chunks);
      return Promise.resolve();
    },
    ...options,
  });
  return { live, published };
}

const text = (c: OutputChunk) => Buffer.from(c.data_b64, 'base64').toString();

describe('LiveOutput', () => {
  it('when chunks of both streams arrive within one flush period, then they become one batch numbered in produced order', async () => {
    const { live, published } = collecting({ flushMs: 1_000 });
    live.push('stdout', Buffer.from('a'));
    live.push('stdout', Buffer.from('b'));
    live.push('stderr', Buffer.from('e'));
    live.push('stdout', Buffer.from('c'));
    const rest = await live.finish();
    expect(published).toEqual([]);
    expect(rest.map((c) => [c.seq, c.stream, text(c)])).toEqual([
      [0, 'stdout', 'ab'],
      [1, 'stderr', 'e'],
      [2, 'stdout', 'c'],
    ]);
    expect(live.chunkCount).toBe(3);
  });

  it('when the pending bytes reach flushBytes, then the batch is published at once and seq continues after it', async () => {
    const { live, published } = collecting({ flushMs: 1_000, flushBytes: 4 });
    live.push('stdout', Buffer.from('1234'));
    live.push('stdout', Buffer.from('5'));
    const rest = await live.finish();
    expect(published.flat().map((c) => [c.seq, text(c)])).toEqual([[0, '1234']]);
    expect(rest.map((c) => [c.seq, text(c)])).toEqual([[1, '5']]);
  });

  it('when flushMs passes, then the pending batch is published without waiting for the end', async () => {
    const { live, published } = collecting({ flushMs: 5 });
    live.push('stdout', Buffer.from('x'));
    await new Promise((r) => setTimeout(r, 50));
    expect(published.flat().map(text)).toEqual(['x']);
    expect(await live.finish()).toEqual([]);
  });

  it('when a publish fails, then finish() throws and onPublishError was told once', async () => {
    const errors: unknown[] = [];
    const live = new LiveOutput({
      executionId: 'e1',
      flushBytes: 1,
      publish: () => Promise.reject(new Error('broker down')),
      onPublishError: (err) => errors.push(err),
    });
    live.push('stdout', Buffer.from('a'));
    live.push('stdout', Buffer.from('b'));
    await expect(live.finish()).rejects.toThrow('broker down');
    expect(errors).toHaveLength(1);
  });
});
