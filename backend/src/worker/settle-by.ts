/** How a promise stood at a deadline. */
export type Settled<T> =
  { kind: 'fulfilled'; value: T } | { kind: 'rejected'; err: unknown } | { kind: 'pending' };

/**
 * Waits for `promise` until `deadline` (epoch ms; Infinity waits for good) and says how it stood.
 * Never rejects; a promise still pending keeps running (its caller decides what to do with it).
 */
export async function settleBy<T>(promise: Promise<T>, deadline: number): Promise<Settled<T>> {
  const outcome = promise.then(
    (value): Settled<T> => ({ kind: 'fulfilled', value }),
    (err: unknown): Settled<T> => ({ kind: 'rejected', err }),
  );
  if (deadline === Number.POSITIVE_INFINITY) return outcome;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Settled<T>>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'pending' }), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([outcome, late]);
  } finally {
    clearTimeout(timer);
  }
}
