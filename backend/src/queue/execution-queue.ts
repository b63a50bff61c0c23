import type { Redis } from 'ioredis';
import { LuaScript } from '../platform/redis/lua-script.js';

export const PRIORITIES = ['critical', 'high', 'normal', 'low', 'background'] as const;
export type Priority = (typeof PRIORITIES)[number];

/**
 * Where `enqueueOrClaim` put an execution: `claimed` holds a slot now, `queued` waits, `present`
 * was already queued or holding a slot (nothing changed).
 */
export type Admission = 'claimed' | 'queued' | 'present';

export interface QueueStats {
  queued: Record<Priority, number>;
  active: number;
}

// Atomically: queue the execution, or give it a slot with a lease deadline at once when fewer than
// cap slots are held and nothing waits at its priority or higher (lower priorities would have been
// claimed after it anyway). Nothing changes when it is already queued (at any priority) or holds a
// slot: a redelivered execution_requested must not queue the same execution twice.
// KEYS: the priority queues, then the active set. ARGV: id, priority index (1-based), enqueue
// score, cap, lease deadline.
const ENQUEUE_OR_CLAIM = new LuaScript(`
local id = ARGV[1]
local active = KEYS[#KEYS]
if redis.call('ZSCORE', active, id) then return 'present' end
for i = 1, #KEYS - 1 do
  if redis.call('ZSCORE', KEYS[i], id) then return 'present' end
end
local priority = tonumber(ARGV[2])
if redis.call('ZCARD', active) < tonumber(ARGV[4]) then
  local ahead = false
  for i = 1, priority do
    if redis.call('ZCARD', KEYS[i]) > 0 then
      ahead = true
      break
    end
  end
  if not ahead then
    redis.call('ZADD', active, ARGV[5], id)
    return 'claimed'
  end
end
redis.call('ZADD', KEYS[priority], ARGV[3], id)
return 'queued'
`);

// Atomically: if fewer than max slots are held, pop the oldest execution of the highest priority
// and give it a slot with a lease deadline. Several orchestrators can call this concurrently.
const CLAIM = new LuaScript(`
local active = KEYS[#KEYS]
if redis.call('ZCARD', active) >= tonumber(ARGV[1]) then return false end
for i = 1, #KEYS - 1 do
  local popped = redis.call('ZPOPMIN', KEYS[i])
  if popped[1] then
    redis.call('ZADD', active, ARGV[2], popped[1])
    return popped[1]
  end
end
return false
`);

// Frees the execution's slot and queues it again (unless it is queued already) in one step: a crash
// between a separate release and enqueue would leave it in neither place.
// KEYS as ENQUEUE_OR_CLAIM. ARGV: id, priority index (1-based), enqueue score.
const REQUEUE = new LuaScript(`
local id = ARGV[1]
redis.call('ZREM', KEYS[#KEYS], id)
for i = 1, #KEYS - 1 do
  if redis.call('ZSCORE', KEYS[i], id) then return 0 end
end
redis.call('ZADD', KEYS[tonumber(ARGV[2])], ARGV[3], id)
return 1
`);

// Removes the execution from every queue and from the active set; returns 1 if anything was removed.
const RELEASE = new LuaScript(`
local removed = 0
for i = 1, #KEYS do removed = removed + redis.call('ZREM', KEYS[i], ARGV[1]) end
return removed
`);

/**
 * The execution queue in Redis: one sorted set per priority (score = enqueue time) and a sorted
 * set of held slots (score = lease deadline). A global cap bounds how many executions run at once;
 * every terminal outcome must `release` its slot, and `expiredLeases` finds slots whose holder
 * died so a reconciler can finish them. Redis must persist (AOF) in production: this is state.
 */
export class ExecutionQueue {
  private readonly queueKeys: string[];
  private readonly activeKey: string;

  constructor(
    private readonly redis: Redis,
    keyPrefix = 'exec',
  ) {
    this.queueKeys = PRIORITIES.map((p) => `${keyPrefix}:queue:${p}`);
    this.activeKey = `${keyPrefix}:active`;
  }

  /** Returns false when the execution was already queued or running. */
  async enqueue(executionId: string, priority: Priority, now = Date.now()): Promise<boolean> {
    // A cap of 0 never claims: the admission is `queued` or `present`.
    return (await this.enqueueOrClaim(executionId, priority, 0, 0, now)) === 'queued';
  }

  /**
   * Enqueue and claim in one step: the execution takes a slot at once when one is free and nothing
   * of the same or a higher priority waits (it would have been the next claim anyway), else it is
   * queued. Saves a new execution the separate claim round trip when slots are free.
   */
  async enqueueOrClaim(
    executionId: string,
    priority: Priority,
    maxConcurrent: number,
    leaseMs: number,
    now = Date.now(),
  ): Promise<Admission> {
    return (await ENQUEUE_OR_CLAIM.run(
      this.redis,
      this.queueKeys.length + 1,
      ...this.queueKeys,
      this.activeKey,
      executionId,
      String(PRIORITIES.indexOf(priority) + 1),
      String(now),
      String(maxConcurrent),
      String(now + leaseMs),
    )) as Admission;
  }

  /** The next execution to run, or null when the cap is reached or nothing is queued. */
  async claim(maxConcurrent: number, leaseMs: number, now = Date.now()): Promise<string | null> {
    const id = (await CLAIM.run(
      this.redis,
      this.queueKeys.length + 1,
      ...this.queueKeys,
      this.activeKey,
      String(maxConcurrent),
      String(now + leaseMs),
    )) as string | null;
    return id ?? null;
  }

  /**
   * Gives up the execution's slot and queues it again at `priority`, in one step: for a claim whose
   * command never went out. An execution already queued stays as it is.
   */
  async requeue(executionId: string, priority: Priority, now = Date.now()): Promise<void> {
    await REQUEUE.run(
      this.redis,
      this.queueKeys.length + 1,
      ...this.queueKeys,
      this.activeKey,
      executionId,
      String(PRIORITIES.indexOf(priority) + 1),
      String(now),
    );
  }

  /** Frees the slot (or drops the queued entry) of an execution; true if it held either. */
  async release(executionId: string): Promise<boolean> {
    const removed = (await RELEASE.run(
      this.redis,
      this.queueKeys.length + 1,
      ...this.queueKeys,
      this.activeKey,
      executionId,
    )) as number;
    return removed > 0;
  }

  /** Extends a held slot's lease; false if the execution no longer holds one. */
  async renew(executionId: string, leaseMs: number, now = Date.now()): Promise<boolean> {
    const changed = await this.redis.zadd(this.activeKey, 'XX', 'CH', String(now + leaseMs), executionId);
    return Number(changed) === 1 || (await this.redis.zscore(this.activeKey, executionId)) !== null;
  }

  /** Slots whose lease ran out: their holder crashed or lost track of them. */
  async expiredLeases(now = Date.now()): Promise<string[]> {
    return this.redis.zrangebyscore(this.activeKey, '-inf', String(now));
  }

  async isQueued(executionId: string): Promise<boolean> {
    const scores = await Promise.all(this.queueKeys.map((k) => this.redis.zscore(k, executionId)));
    return scores.some((s) => s !== null);
  }

  async stats(): Promise<QueueStats> {
    const pipeline = this.redis.pipeline();
    for (const key of this.queueKeys) pipeline.zcard(key);
    pipeline.zcard(this.activeKey);
    const results = (await pipeline.exec()) ?? [];
    const counts = results.map(([err, n]) => {
      if (err) throw err;
      return Number(n);
    });
    const queued = Object.fromEntries(PRIORITIES.map((p, i) => [p, counts[i] ?? 0])) as Record<
      Priority,
      number
    >;
    return { queued, active: counts[PRIORITIES.length] ?? 0 };
  }
}
