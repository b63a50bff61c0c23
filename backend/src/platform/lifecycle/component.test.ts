import { describe, expect, it, vi } from 'vitest';
import { LifecycleGate } from './component.js';

/** A promise with its resolve/reject exposed, so a test decides when a start or stop finishes. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('LifecycleGate', () => {
  it('when start is called twice, then the start work runs once and both callers get the same promise', async () => {
    const gate = new LifecycleGate();
    const work = deferred();
    const run = vi.fn(() => work.promise);
    const first = gate.start(run);
    const second = gate.start(run);
    expect(second).toBe(first);
    expect(run).toHaveBeenCalledTimes(1);
    work.resolve();
    await expect(first).resolves.toBeUndefined();
    await expect(gate.start(run)).resolves.toBeUndefined();
    expect(run).toHaveBeenCalledTimes(1);
  });

  it('when stop is called before any start, then the stop work never runs and stop resolves', async () => {
    const gate = new LifecycleGate();
    const stopRun = vi.fn(() => Promise.resolve());
    await expect(gate.stop(stopRun)).resolves.toBeUndefined();
    expect(stopRun).not.toHaveBeenCalled();
    expect(gate.running).toBe(false);
  });

  it('when start failed, then stop still runs the stop work and resolves', async () => {
    const gate = new LifecycleGate();
    await expect(gate.start(() => Promise.reject(new Error('no broker')))).rejects.toThrow('no broker');
    const stopRun = vi.fn(() => Promise.resolve());
    await expect(gate.stop(stopRun)).resolves.toBeUndefined();
    expect(stopRun).toHaveBeenCalledTimes(1);
  });

  it('when stop is called while start is still running, then the stop work waits for start to finish', async () => {
    const gate = new LifecycleGate();
    const starting = deferred();
    const order: string[] = [];
    const started = gate.start(async () => {
      await starting.promise;
      order.push('started');
    });
    const stopped = gate.stop(() => {
      order.push('stop');
      return Promise.resolve();
    });
    await Promise.resolve();
    expect(order).toEqual([]);
    starting.resolve();
    await Promise.all([started, stopped]);
    expect(order).toEqual(['started', 'stop']);
  });

  it('when stop is called twice, then the stop work runs once and both callers get the same promise', async () => {
    const gate = new LifecycleGate();
    await gate.start(() => Promise.resolve());
    const stopRun = vi.fn(() => Promise.resolve());
    const first = gate.stop(stopRun);
    expect(gate.stop(stopRun)).toBe(first);
    await first;
    expect(stopRun).toHaveBeenCalledTimes(1);
  });

  it('when start is called after stop, then it rejects without running the start work', async () => {
    const gate = new LifecycleGate();
    await gate.start(() => Promise.resolve());
    await gate.stop(() => Promise.resolve());
    const run = vi.fn(() => Promise.resolve());
    await expect(gate.start(run)).rejects.toThrow('cannot start after stop');
    expect(run).not.toHaveBeenCalled();
  });

  it('when start is called after a stop that came before any start, then it rejects too', async () => {
    const gate = new LifecycleGate();
    await gate.stop(() => Promise.resolve());
    const run = vi.fn(() => Promise.resolve());
    await expect(gate.start(run)).rejects.toThrow('cannot start after stop');
    expect(run).not.toHaveBeenCalled();
  });

  it('when the gate goes from new to started to stopped, then running is false, true, false', async () => {
    const gate = new LifecycleGate();
    expect(gate.running).toBe(false);
    const work = deferred();
    const started = gate.start(() => work.promise);
    // Running from the moment start is called, so a concurrent stop knows there is something to stop.
    expect(gate.running).toBe(true);
    work.resolve();
    await started;
    expect(gate.running).toBe(true);
    const stopped = gate.stop(() => Promise.resolve());
    expect(gate.running).toBe(false);
    await stopped;
    expect(gate.running).toBe(false);
  });
});
