import type { Redis } from 'ioredis';
import { LuaScript } from '../platform/redis/lua-script.js';

export const PRIORITIES = ['critical', 'high', 'normal', 'low', 'background'] as const;
export type Priority = (typeof PRIORITIES)[number];

/**
 * Where `enqueueOrClaim` put an execution: `claimed` holds a slot now, `queued` waits, `present`
 * was already queued or holding a slot (nothing changed).
 */
export type Admission = 'claimed' | 'queued' | 'present';

/** Where the saga orchestrator keeps the queue unless told otherwise (one queue per database). */
export function defaultQueueKeyPrefix(settings: { DATABASE_NAME: string }): string {
  return `exec:${settings.DATABASE_NAME}`;
}

/** No per-user cap: larger than any slot count. */
const UNCAPPED = 2 ** 31;

export interface QueueStats {
  queued: Record<Priority, number>;
  active: number;
}

// Every script takes KEYS = the priority queues, then the active set, the owners hash (execution id
// → user id), the per-user slot counts and the per-user cap overrides; a user without an override
// gets DEFAULT_USER_CAP (last ARGV). An execution without a recorded owner has no per-user cap.
const USER_CAP_PRELUDE = `
local n = #KEYS - 4
local active, owners, counts, caps = KEYS[n + 1], KEYS[n + 2], KEYS[n + 3], KEYS[n + 4]
local default_user_cap = tonumber(ARGV[#ARGV])
local function under_user_cap(user)
  if not user then return true end
  local cap = tonumber(redis.call('HGET', caps, user) or default_user_cap)
  return tonumber(redis.call('HGET', counts, user) or '0') < cap
end
local function take_slot(id, deadline)
  redis.call('ZADD', active, deadline, id)
  local user = redis.call('HGET', owners, id)
  if user then redis.call('HINCRBY', counts, user, 1) end
end
local function give_back_slot(id)
  if redis.call('ZREM', active, id) == 0 then return 0 end
  local user = redis.call('HGET', owners, id)
  if user and redis.call('HINCRBY', counts, user, -1) <= 0 then redis.call('HDEL', counts, user) end
  return 1
end
`;

// Atomically: queue the execution, or give it a slot with a lease deadline at once when fewer than
// cap slots are held, its user is under their own cap, and nothing waits at its priority or higher
// (lower priorities would have been claimed after it anyway). Nothing changes when it is already
// queued (at any priority) or holds a slot: a redelivered execution_requested must not queue the
// same execution twice. ARGV: id, priority index (1-based), enqueue score, cap, lease deadline,
// user id ('' for none), default user cap.
const ENQUEUE_OR_CLAIM = new LuaScript(`${USER_CAP_PRELUDE}
local id = ARGV[1]
if redis.call('ZSCORE', active, id) then return 'present' end
for i = 1, n do
  if redis.call('ZSCORE', KEYS[i], id) then return 'present' end
end
if ARGV[6] ~= '' then redis.call('HSET', owners, id, ARGV[6]) end
local priority = tonumber(ARGV[2])
if redis.call('ZCARD', active) < tonumber(ARGV[4]) and under_user_cap(redis.call('HGET', owners, id)) then
  local ahead = false
  for i = 1, priority do
    if redis.call('ZCARD', KEYS[i]) > 0 then
      ahead = true
      break
    end
  end
  if not ahead then
    take_slot(id, ARGV[5])
    return 'claimed'
  end
end
redis.call('ZADD', KEYS[priority], ARGV[3], id)
return 'queued'
`);

// Atomically: if fewer than max slots are held, take the oldest execution of the highest priority
// whose user is under their cap and give it a slot with a lease deadline; a user at their cap waits
// without holding back anyone else. Looks at most CLAIM_SCAN entries per priority. Several
// orchestrators can call this concurrently. ARGV: max slots, lease deadline, default user cap.
const CLAIM_SCAN = 1000;
const CLAIM = new LuaScript(`${USER_CAP_PRELUDE}
if redis.call('ZCARD', active) >= tonumber(ARGV[1]) then return false end
for i = 1, n do
  for _, id in ipairs(redis.call('ZRANGE', KEYS[i], 0, ${CLAIM_SCAN - 1})) do
    if under_user_cap(redis.call('HGET', owners, id)) then
      redis.call('ZREM', KEYS[i], id)
      take_slot(id, ARGV[2])
      return id
    end
  end
end
return false
`);

// Frees the execution's slot and queues it again (unless it is queued already) in one step: a crash
// between a separate release and enqueue would leave it in neither place.
// ARGV: id, priority index (1-based), enqueue score, default user cap.
const REQUEUE = new LuaScript(`${USER_CAP_PRELUDE}
local id = ARGV[1]
give_back_slot(id)
for i = 1, n do
  if redis.call('ZSCORE', KEYS[i], id) then return 0 end
end
redis.call('ZADD', KEYS[tonumber(ARGV[2])], ARGV[3], id)
return 1
`);

// Removes the execution from every queue and from the active set and forgets its owner; returns 1
// if anything was removed. ARGV: id, default user cap.
const RELEASE = new LuaScript(`${USER_CAP_PRELUDE}
local removed = give_back_slot(ARGV[1])
for i = 1, n do removed = removed + redis.call('ZREM', KEYS[i], ARGV[1]) end
redis.call('HDEL', owners, ARGV[1])
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
  private readonly capsKey: string;
  /** What every script takes as KEYS: the queues, then active, owners, per-user counts and caps. */
  private readonly keys: string[];
  private readonly defaultUserCap: string;

  constructor(
    private readonly redis: Redis,
    keyPrefix = 'exec',
    /** EXECUTION_MAX_CONCURRENT_PER_USER: slots one user may hold at once unless overridden. */
    perUserCap: number = UNCAPPED,
  ) {
    this.queueKeys = PRIORITIES.map((p) => `${keyPrefix}:queue:${p}`);
    this.activeKey = `${keyPrefix}:active`;
    this.capsKey = `${keyPrefix}:user_caps`;
    this.keys = [
      ...this.queueKeys,
      this.activeKey,
      `${keyPrefix}:owners`,
      `${keyPrefix}:user_slots`,
      this.capsKey,
    ];
    this.defaultUserCap = String(perUserCap);
  }

  /**
   * Queues the execution (recording its owner for the per-user cap). Returns false when it was
   * already queued or running.
   */
  async enqueue(executionId: string, priority: Priority, now = Date.now(), userId = ''): Promise<boolean> {
    // A cap of 0 never claims: the admission is `queued` or `present`.
    return (await this.enqueueOrClaim(executionId, priority, 0, 0, now, userId)) === 'queued';
  }

  /**
   * Enqueue and claim in one step: the execution takes a slot at once when one is free, its owner
   * is under their cap, and nothing of the same or a higher priority waits (it would have been the
   * next claim anyway), else it is queued. Saves a new execution the separate claim round trip.
   */
  async enqueueOrClaim(
    executionId: string,
    priority: Priority,
    maxConcurrent: number,
    leaseMs: number,
    now = Date.now(),
    userId = '',
  ): Promise<Admission> {
    return (await ENQUEUE_OR_CLAIM.run(
      this.redis,
      this.keys.length,
      ...this.keys,
      executionId,
      String(PRIORITIES.indexOf(priority) + 1),
      String(now),
      String(maxConcurrent),
      String(now + leaseMs),
      userId,
      this.defaultUserCap,
    )) as Admission;
  }

  /** The next execution to run, or null when the cap is reached or nothing eligible is queued. */
  async claim(maxConcurrent: number, leaseMs: number, now = Date.now()): Promise<string | null> {
    const id = (await CLAIM.run(
      this.redis,
      this.keys.length,
      ...this.keys,
      String(maxConcurrent),
      String(now + leaseMs),
      this.defaultUserCap,
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
      this.keys.length,
      ...this.keys,
      executionId,
      String(PRIORITIES.indexOf(priority) + 1),
      String(now),
      this.defaultUserCap,
    );
  }

  /** Frees the slot (or drops the queued entry) of an execution; true if it held either. */
  async release(executionId: string): Promise<boolean> {
    const removed = (await RELEASE.run(
      this.redis,
      this.keys.length,
      ...this.keys,
      executionId,
      this.defaultUserCap,
    )) as number;
    return removed > 0;
  }

  /** An admin's per-user override of EXECUTION_MAX_CONCURRENT_PER_USER; null goes back to the default. */
  async setUserCap(userId: string, cap: number | null): Promise<void> {
    if (cap === null) await this.redis.hdel(this.capsKey, userId);
    else await this.redis.hset(this.capsKey, userId, String(cap));
  }

  /** The user's override, or null when the default applies. */
  async userCap(userId: string): Promise<number | null> {
    const value = await this.redis.hget(this.capsKey, userId);
    return value === null ? null : Number(value);
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
