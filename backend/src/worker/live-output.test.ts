import { describe, expect, it } from 'vitest';
import { LiveOutput, type OutputChunk } from './live-output.js';

function collecting(options: { flushMs?: number; flushBytes?: number; maxChunks?: number } = {}) {
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
  it('when chunks of both streams arrive within one flush period, then they become one chunk per stream, the first stream first', async () => {
    const { live, published } = collecting({ flushMs: 1_000 });
    live.push('stdout', Buffer.from('a'));
    live.push('stdout', Buffer.from('b'));
    live.push('stderr', Buffer.from('e'));
    live.push('stdout', Buffer.from('c'));
    const rest = await live.finish();
    expect(published).toEqual([]);
    expect(rest.map((c) => [c.seq, c.stream, text(c)])).toEqual([
      [0, 'stdout', 'abc'],
      [1, 'stderr', 'e'],
    ]);
    expect(live.chunkCount).toBe(2);
  });

  it('when 20 000 one-byte writes alternate between the streams, then each flush period yields at most two chunks', async () => {
    const { live, published } = collecting({ flushMs: 5 });
    for (let i = 0; i < 20_000; i++) {
      live.push(i % 2 === 0 ? 'stdout' : 'stderr', Buffer.from(i % 2 === 0 ? 'o' : 'e'));
      if (i % 5_000 === 4_999) await new Promise((r) => setTimeout(r, 20));
    }
    const all = [...published.flat(), ...(await live.finish())];
    expect(all.length).toBeLessThanOrEqual(2 * 5);
    expect(all.map((c) => c.seq)).toEqual([...all.keys()]);
    const joined = (stream: string) =>
      all
        .filter((c) => c.stream === stream)
        .map(text)
        .join('');
    expect(joined('stdout')).toBe('o'.repeat(10_000));
    expect(joined('stderr')).toBe('e'.repeat(10_000));
  });

  it('when maxChunks chunks were handed out, then later output is left out and capped says so', async () => {
    const { live, published } = collecting({ flushMs: 1_000, flushBytes: 1, maxChunks: 3 });
    for (const letter of 'abcdef') live.push('stdout', Buffer.from(letter));
    const rest = await live.finish();
    expect([...published.flat(), ...rest].map((c) => [c.seq, text(c)])).toEqual([
      [0, 'a'],
      [1, 'b'],
      [2, 'c'],
    ]);
    expect(live.chunkCount).toBe(3);
    expect(live.capped).toBe(true);
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

  it('when a publish fails, then live output stops, onPublishError is told once and finish() hands back every chunk not acknowledged, in seq order', async () => {
    const errors: unknown[] = [];
    const published: OutputChunk[][] = [];
    let calls = 0;
    const live = new LiveOutput({
      executionId: 'e1',
      flushBytes: 1,
      publish: (chunks) => {
        if (++calls > 1) return Promise.reject(new Error('broker down'));
        published.push(chunks);
        return Promise.resolve();
      },
      onPublishError: (err) => errors.push(err),
    });
    live.push('stdout', Buffer.from('a'));
    await new Promise((r) => setTimeout(r, 10));
    live.push('stdout', Buffer.from('b'));
    live.push('stdout', Buffer.from('c'));
    await new Promise((r) => setTimeout(r, 10));
    live.push('stdout', Buffer.from('after the failure'));
    const rest = await live.finish();
    expect(published.flat().map((c) => [c.seq, text(c)])).toEqual([[0, 'a']]);
    // 'b' failed, 'c' was queued behind it: both go with the terminal event.
    expect(rest.map((c) => [c.seq, text(c)])).toEqual([
      [1, 'b'],
      [2, 'c'],
    ]);
    expect(live.chunkCount).toBe(3);
    expect(live.stopped).toBe(true);
    expect(errors).toHaveLength(1);
  });

  it('when a publish is still in flight at the deadline, then finish() returns by then with its chunks and those queued behind it', async () => {
    let calls = 0;
    const live = new LiveOutput({
      executionId: 'e1',
      flushBytes: 1,
      publish: () => {
        calls++;
        return new Promise<void>(() => undefined);
      },
    });
    live.push('stdout', Buffer.from('a'));
    live.push('stderr', Buffer.from('b'));
    live.push('stdout', Buffer.from('c'));
    const started = Date.now();
    const rest = await live.finish(Date.now() + 50);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(rest.map((c) => [c.seq, c.stream, text(c)])).toEqual([
      [0, 'stdout', 'a'],
      [1, 'stderr', 'b'],
      [2, 'stdout', 'c'],
    ]);
    expect(calls).toBe(1);
    expect(live.stopped).toBe(false);
  });
});
