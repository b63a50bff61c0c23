import type { Redis } from 'ioredis';
import { LuaScript } from '../platform/redis/lua-script.js';

/** What an SSE client sees, in order: lifecycle steps, output chunks, the verdict, the stored result. */
export const LOG_ENTRY_KINDS = ['status', 'output', 'terminal', 'result'] as const;
export type LogEntryKind = (typeof LOG_ENTRY_KINDS)[number];

function isLogEntryKind(value: unknown): value is LogEntryKind {
  return (LOG_ENTRY_KINDS as readonly unknown[]).includes(value);
}

/** Entries per stream read, unless the reader asks for another page size. */
export const READ_PAGE = 500;

export interface LogEntry {
  /** Redis stream id: what the client sends back as Last-Event-ID. */
  id: string;
  kind: LogEntryKind;
  /** JSON text of the entry's data. */
  data: string;
}

// Appends one event to an execution's log exactly once (dedupe by event id). Output chunks and the
// terminal/result events travel on different Kafka topics, so the terminal entry is held back
// until every output chunk it counts has been appended, and the result until the terminal entry:
// a client never sees the verdict before the last byte of output.
//
// Lifecycle steps also travel on different topics (queued and scheduled even leave in one produce
// request), so a step is held back until the one before it is written; output or a verdict
// releases whatever is held, in order, skipping a step that never came. A step at or below the
// last one written (or after the verdict) is dropped: the log never steps back.
//
// The readers' wake-up is published in the same round trip and carries the entries just added
// with the id of the entry before them (`prev`), so a reader that already sent up to `prev` sends
// them without reading the stream; any other reader reads the stream from where it is.
const APPEND = new LuaScript(`
local stream, seen, meta = KEYS[1], KEYS[2], KEYS[3]
local event_id, kind, data, expected, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local channel, rank = ARGV[6], tonumber(ARGV[7])
local max_rank = tonumber(ARGV[8])
if redis.call('SADD', seen, event_id) == 0 then return 0 end
local prev = redis.call('HGET', meta, 'last_id') or ''
local added = {}
local function add(entry_kind, entry_data)
  local id = redis.call('XADD', stream, '*', 'kind', entry_kind, 'data', entry_data)
  added[#added + 1] = { id = id, kind = entry_kind, data = entry_data }
end
local function flush_steps(release_all)
  local last = tonumber(redis.call('HGET', meta, 'step') or '0')
  for r = last + 1, max_rank do
    local held = redis.call('HGET', meta, 'held_step_' .. r)
    if held then
      add('status', held)
      redis.call('HDEL', meta, 'held_step_' .. r)
      redis.call('HSET', meta, 'step', r)
    elseif not release_all then
      break
    end
  end
end
local function flush()
  local chunks = tonumber(redis.call('HGET', meta, 'chunks') or '0')
  local want = redis.call('HGET', meta, 'expected')
  local pending = redis.call('HGET', meta, 'pending_terminal')
  if pending and want and chunks >= tonumber(want) then
    add('terminal', pending)
    redis.call('HDEL', meta, 'pending_terminal')
    redis.call('HSET', meta, 'terminal_written', '1')
  end
  local result = redis.call('HGET', meta, 'pending_result')
  if result and redis.call('HGET', meta, 'terminal_written') then
    add('result', result)
    redis.call('HDEL', meta, 'pending_result')
  end
end
if kind == 'status' then
  if rank <= tonumber(redis.call('HGET', meta, 'step') or '0') then return 0 end
  redis.call('HSETNX', meta, 'held_step_' .. rank, data)
  flush_steps(false)
elseif kind == 'output' then
  flush_steps(true)
  add('output', data)
  redis.call('HINCRBY', meta, 'chunks', 1)
elseif kind == 'terminal' then
  if redis.call('HGET', meta, 'terminal_written') or redis.call('HGET', meta, 'pending_terminal') then
    -- A second verdict for the same execution (a duplicate from another producer): first one wins.
    return 0
  end
  flush_steps(true)
  redis.call('HSET', meta, 'step', max_rank + 1)
  redis.call('HSET', meta, 'expected', expected, 'pending_terminal', data)
elseif kind == 'result' then
  if redis.call('HGET', meta, 'result_seen') then return 0 end
  redis.call('HSET', meta, 'result_seen', '1', 'pending_result', data)
else
  add(kind, data)
end
flush()
if #added > 0 then
  redis.call('HSET', meta, 'last_id', added[#added].id)
end
for _, key in ipairs(KEYS) do redis.call('EXPIRE', key, ttl) end
if #added > 0 then
  redis.call('PUBLISH', channel, cjson.encode({ prev = prev, entries = added }))
end
return 1
`);

/**
 * A wake-up as published by the append script: the entries it added, oldest first, and the id of
 * the entry before them ('' when they are the first).
 */
export interface LogNotification {
  prev: string;
  entries: LogEntry[];
}

/** Parses a wake-up message; null if it is not one (a reader then reads the stream instead). */
export function parseNotification(message: string): LogNotification | null {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { prev, entries } = value as { prev?: unknown; entries?: unknown };
  // cjson encodes an empty table as {}, but the script never publishes without entries.
  if (typeof prev !== 'string' || !Array.isArray(entries)) return null;
  const parsed: LogEntry[] = [];
  for (const entry of entries as unknown[]) {
    const { id, kind, data } = (entry ?? {}) as { id?: unknown; kind?: unknown; data?: unknown };
    if (typeof id !== 'string' || !isStreamId(id) || typeof data !== 'string') return null;
    if (!isLogEntryKind(kind)) return null;
    parsed.push({ id, kind, data });
  }
  return { prev, entries: parsed };
}

/** Orders Redis stream ids (`ms-seq`). */
export function compareStreamIds(a: string, b: string): number {
  const [aMs = 0n, aSeq = 0n] = a.split('-').map(BigInt);
  const [bMs = 0n, bSeq = 0n] = b.split('-').map(BigInt);
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  if (aSeq !== bSeq) return aSeq < bSeq ? -1 : 1;
  return 0;
}

/** The lifecycle steps of a `status` entry, in the order a client must see them. */
export const LIFECYCLE_STEPS = ['queued', 'scheduled', 'running'] as const;

/** 1-based position of a status in LIFECYCLE_STEPS; 0 for any other status (e.g. a verdict). */
export function lifecycleRank(status: unknown): number {
  return (LIFECYCLE_STEPS as readonly unknown[]).indexOf(status) + 1;
}

export interface AppendInput {
  executionId: string;
  eventId: string;
  kind: LogEntryKind;
  data: unknown;
  /** For `terminal`: how many output chunks precede it. */
  outputChunks?: number;
}

/**
 * Per-execution event logs in Redis streams: the SSE bridge appends, every API process reads.
 * Reading from a stream id gives resume without gaps or duplicates (Last-Event-ID).
 */
export class ExecutionEventLog {
  constructor(
    private readonly redis: () => Redis,
    private readonly options: { keyPrefix: string; ttlSeconds: number },
  ) {}

  channel(executionId: string): string {
    return `${this.options.keyPrefix}notify:${executionId}`;
  }

  private keys(executionId: string): [string, string, string] {
    const base = `${this.options.keyPrefix}exec:${executionId}`;
    return [`${base}:stream`, `${base}:seen`, `${base}:meta`];
  }

  /**
   * Appends the event unless already appended and publishes a wake-up with the entries it added
   * (one script; no wake-up when it only held an entry back). True if the event was new.
   */
  async append(input: AppendInput): Promise<boolean> {
    const added = (await APPEND.run(
      this.redis(),
      3,
      ...this.keys(input.executionId),
      input.eventId,
      input.kind,
      JSON.stringify(input.data),
      String(input.outputChunks ?? 0),
      String(this.options.ttlSeconds),
      this.channel(input.executionId),
      String(input.kind === 'status' ? lifecycleRank((input.data as { status?: unknown }).status) : 0),
      String(LIFECYCLE_STEPS.length),
    )) as number;
    return added === 1;
  }

  /** Entries after `afterId` (exclusive), oldest first; from the start when afterId is undefined. */
  async readAfter(executionId: string, afterId: string | undefined, count = READ_PAGE): Promise<LogEntry[]> {
    const [stream] = this.keys(executionId);
    const start = afterId === undefined ? '-' : `(${afterId}`;
    const rows = await this.redis().xrange(stream, start, '+', 'COUNT', count);
    return rows.map(([id, fields]) => {
      const record: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i]!] = fields[i + 1]!;
      return { id, kind: (record.kind ?? 'status') as LogEntryKind, data: record.data ?? 'null' };
    });
  }
}

/** Whether a Last-Event-ID header is a stream id we issued (else it is ignored). */
export function isStreamId(value: string | undefined): value is string {
  return value !== undefined && /^\d{1,20}-\d{1,20}$/.test(value);
}
