import { z } from 'zod';
import {
  parseTerminationRecord,
  RUNNER_PROTOCOL_VERSION,
  type TerminationRecord,
} from './termination-record.js';

/**
 * Parses the executor runner's log (the pod log; protocol in backend/executor-runner/README.md):
 *
 *   S {"v":1}               start marker, first line
 *   O <seq> <base64>        a chunk of stdout (E: stderr); seq counts O and E frames from 0
 *   X <record JSON>         the termination record, last line
 *
 * Incremental and never throwing: whatever does not fit the protocol becomes a `problem` event
 * and parsing goes on with the next line.
 */

/** The kubelet splits longer log lines; the runner never writes one (newline included). */
export const MAX_LINE_BYTES = 16 * 1024;

export const RunnerStartInfo = z.looseObject({ v: z.number().int() });
export type RunnerStartInfo = z.infer<typeof RunnerStartInfo>;

export type RunnerLogEvent =
  | { kind: 'start'; info: RunnerStartInfo }
  | { kind: 'output'; stream: 'stdout' | 'stderr'; seq: number; data: Buffer }
  | { kind: 'record'; record: TerminationRecord }
  | { kind: 'problem'; problem: string };

export interface RunnerLogParserOptions {
  /**
   * Frames with a lower seq are dropped silently: after a reconnect the log is replayed from its
   * start, and the frames before the previous parser's `nextSeq` were already delivered.
   */
  skipBelowSeq?: number;
}

export interface RunnerLogSummary {
  /** Output frames delivered as events. */
  frames: number;
  /** Frames dropped because their seq was below `skipBelowSeq`. */
  skipped: number;
  problems: number;
  startSeen: boolean;
  recordSeen: boolean;
  nextSeq: number;
}

const FRAME = /^([OE]) (0|[1-9][0-9]{0,15}) ([A-Za-z0-9+/]*={0,2})$/;
const NEWLINE = 0x0a;
const CR = 0x0d;

export class RunnerLogParser {
  readonly #skipBelowSeq: number;
  #nextSeq: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Inside a line already reported as too long: drop bytes up to its newline. */
  #discarding = false;
  #lineNo = 0;
  #frames = 0;
  #skipped = 0;
  #problems = 0;
  #startSeen = false;
  #startProblemReported = false;
  #recordSeen = false;
  #ended = false;

  constructor(options: RunnerLogParserOptions = {}) {
    const skip = options.skipBelowSeq ?? 0;
    this.#skipBelowSeq = Number.isSafeInteger(skip) && skip > 0 ? skip : 0;
    this.#nextSeq = this.#skipBelowSeq;
  }

  /** The seq the next frame should have; pass it as `skipBelowSeq` when resuming. */
  get nextSeq(): number {
    return this.#nextSeq;
  }

  get summary(): RunnerLogSummary {
    return {
      frames: this.#frames,
      skipped: this.#skipped,
      problems: this.#problems,
      startSeen: this.#startSeen,
      recordSeen: this.#recordSeen,
      nextSeq: this.#nextSeq,
    };
  }

  push(chunk: Buffer | string): RunnerLogEvent[] {
    const events: RunnerLogEvent[] = [];
    if (this.#ended) {
      this.#problem(events, 'log data after the end of the log');
      return events;
    }
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let start = 0;
    while (start < buf.length) {
      const newline = buf.indexOf(NEWLINE, start);
      if (newline === -1) {
        this.#hold(buf.subarray(start), events);
        break;
      }
      this.#hold(buf.subarray(start, newline), events);
      start = newline + 1;
      if (this.#discarding) {
        this.#discarding = false;
        continue;
      }
      const line = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending);
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#line(line, events);
    }
    return events;
  }

  /** Call once the log stream ended (or broke off); reports what was left unfinished. */
  end(): RunnerLogEvent[] {
    const events: RunnerLogEvent[] = [];
    if (this.#ended) return events;
    this.#ended = true;
    if (this.#pendingBytes > 0) {
      this.#problem(events, `log ends inside a line (${this.#pendingBytes} bytes without a newline)`);
    }
    this.#pending = [];
    this.#pendingBytes = 0;
    if (!this.#startSeen && !this.#startProblemReported) {
      this.#problem(events, 'log has no start marker');
    }
    return events;
  }

  /** Buffers part of a line, switching to discarding once it cannot fit the line limit. */
  #hold(piece: Buffer, events: RunnerLogEvent[]): void {
    if (this.#discarding || piece.length === 0) return;
    // Longer than the limit even if its last byte turns out to be a tolerated CR.
    if (this.#pendingBytes + piece.length > MAX_LINE_BYTES) {
      this.#lineNo++;
      this.#problem(events, `line ${this.#lineNo} is longer than ${MAX_LINE_BYTES} bytes (dropped)`);
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#discarding = true;
      return;
    }
    this.#pending.push(piece);
    this.#pendingBytes += piece.length;
  }

  #line(raw: Buffer, events: RunnerLogEvent[]): void {
    this.#lineNo++;
    const end = raw.length > 0 && raw[raw.length - 1] === CR ? raw.length - 1 : raw.length;
    if (end + 1 > MAX_LINE_BYTES) {
      this.#problem(events, `line ${this.#lineNo} is longer than ${MAX_LINE_BYTES} bytes (dropped)`);
      return;
    }
    // latin1 maps each byte to one character, so non-ASCII garbage never turns into valid frames.
    const line = raw.toString('latin1', 0, end);
    if (this.#recordSeen) {
      this.#problem(events, `line ${this.#lineNo} after the termination record: ${quote(line)}`);
      return;
    }
    switch (line.slice(0, 2)) {
      case 'O ':
      case 'E ':
        this.#frame(line, events);
        return;
      case 'S ':
        this.#start(line, events);
        return;
      case 'X ':
        this.#record(line, events);
        return;
      default:
        this.#problem(events, `line ${this.#lineNo} is not a runner frame: ${quote(line)}`);
    }
  }

  #start(line: string, events: RunnerLogEvent[]): void {
    if (this.#startSeen || this.#startProblemReported) {
      this.#problem(events, `line ${this.#lineNo}: start marker in the middle of the log`);
      return;
    }
    this.#startSeen = true;
    let json: unknown;
    try {
      json = JSON.parse(line.slice(2));
    } catch {
      this.#problem(events, `line ${this.#lineNo}: start marker is not JSON: ${quote(line)}`);
      return;
    }
    const parsed = RunnerStartInfo.safeParse(json);
    if (!parsed.success) {
      this.#problem(events, `line ${this.#lineNo}: start marker without a protocol version: ${quote(line)}`);
      return;
    }
    if (parsed.data.v !== RUNNER_PROTOCOL_VERSION) {
      this.#problem(
        events,
        `runner protocol version ${parsed.data.v}, this parser reads ${RUNNER_PROTOCOL_VERSION}`,
      );
    }
    events.push({ kind: 'start', info: parsed.data });
  }

  #frame(line: string, events: RunnerLogEvent[]): void {
    const match = FRAME.exec(line);
    const seq = match ? Number(match[2]) : NaN;
    const base64 = match?.[3] ?? '';
    if (!match || !Number.isSafeInteger(seq) || base64.length % 4 !== 0) {
      this.#problem(events, `line ${this.#lineNo} is not a valid output frame: ${quote(line)}`);
      return;
    }
    this.#requireStart(events);
    if (seq < this.#skipBelowSeq) {
      this.#skipped++;
      return;
    }
    if (seq < this.#nextSeq) {
      this.#problem(events, `frame ${seq} repeated or out of order (expected ${this.#nextSeq}); dropped`);
      return;
    }
    if (seq > this.#nextSeq) this.#problem(events, missing(this.#nextSeq, seq - 1));
    this.#nextSeq = seq + 1;
    this.#frames++;
    events.push({
      kind: 'output',
      stream: match[1] === 'O' ? 'stdout' : 'stderr',
      seq,
      data: Buffer.from(base64, 'base64'),
    });
  }

  #record(line: string, events: RunnerLogEvent[]): void {
    const parsed = parseTerminationRecord(line.slice(2));
    if (!parsed.ok) {
      this.#problem(events, `line ${this.#lineNo}: ${parsed.error}`);
      return;
    }
    this.#requireStart(events);
    const { record } = parsed;
    if (record.frames > this.#nextSeq) {
      this.#problem(events, missing(this.#nextSeq, record.frames - 1));
    } else if (record.frames < this.#nextSeq) {
      this.#problem(
        events,
        `termination record counts ${record.frames} frames but the log has ${this.#nextSeq}`,
      );
    }
    this.#recordSeen = true;
    events.push({ kind: 'record', record });
  }

  #requireStart(events: RunnerLogEvent[]): void {
    if (this.#startSeen || this.#startProblemReported) return;
    this.#startProblemReported = true;
    this.#problem(events, 'log does not begin with the start marker (log truncated?)');
  }

  #problem(events: RunnerLogEvent[], problem: string): void {
    this.#problems++;
    events.push({ kind: 'problem', problem });
  }
}

function missing(from: number, to: number): string {
  return from === to
    ? `frame ${from} missing (log truncated?)`
    : `frames ${from}..${to} missing (log truncated?)`;
}

/** A bounded, printable rendering of a bad line for a problem message. */
function quote(line: string): string {
  const shown = JSON.stringify(line.slice(0, 80)).replace(/[^\x20-\x7e]/g, '?');
  return line.length > 80 ? `${shown}... (${line.length} chars)` : shown;
}
