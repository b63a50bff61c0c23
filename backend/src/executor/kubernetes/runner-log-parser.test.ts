import { describe, expect, it } from 'vitest';
import { MAX_LINE_BYTES, RunnerLogParser, type RunnerLogEvent } from './runner-log-parser.js';
import type { TerminationRecord } from './termination-record.js';

const RECORD: TerminationRecord = {
  v: 1,
  verdict: 'completed',
  exit_code: 0,
  signal: null,
  wall_seconds: 0.25,
  cpu_seconds: 0.125,
  peak_memory_bytes: 1048576,
  output_truncated: false,
  stdout_bytes: 9,
  stderr_bytes: 4,
  frames: 3,
  reason: null,
};
const BINARY = Buffer.from([0x00, 0xff, 0x0a, 0x0d, 0x80]);

function frame(tag: 'O' | 'E', seq: number, data: Buffer | string): string {
  return `${tag} ${seq} ${Buffer.from(data).toString('base64')}\n`;
}

function recordLine(record: Partial<TerminationRecord> = {}): string {
  return `X ${JSON.stringify({ ...RECORD, ...record })}\n`;
}

const SAMPLE =
  'S {"v":1}\n' + frame('O', 0, 'hello\n') + frame('E', 1, 'oops') + frame('O', 2, BINARY) + recordLine();

function parseAll(chunks: (Buffer | string)[], parser = new RunnerLogParser()): RunnerLogEvent[] {
  return [...chunks.flatMap((chunk) => parser.push(chunk)), ...parser.end()];
}

function problems(events: RunnerLogEvent[]): string[] {
  return events.flatMap((e) => (e.kind === 'problem' ? [e.problem] : []));
}

function outputs(events: RunnerLogEvent[]): { stream: string; seq: number; data: string }[] {
  return events.flatMap((e) =>
    e.kind === 'output' ? [{ stream: e.stream, seq: e.seq, data: e.data.toString('hex') }] : [],
  );
}

const SAMPLE_EVENTS: RunnerLogEvent[] = [
  { kind: 'start', info: { v: 1 } },
  { kind: 'output', stream: 'stdout', seq: 0, data: Buffer.from('hello\n') },
  { kind: 'output', stream: 'stderr', seq: 1, data: Buffer.from('oops') },
  { kind: 'output', stream: 'stdout', seq: 2, data: BINARY },
  { kind: 'record', record: RECORD },
];

describe('RunnerLogParser', () => {
  it('when a whole log arrives in one chunk, then it yields start, output in seq order and the record', () => {
    const parser = new RunnerLogParser();
    expect(parseAll([SAMPLE], parser)).toEqual(SAMPLE_EVENTS);
    expect(parser.summary).toEqual({
      frames: 3,
      skipped: 0,
      problems: 0,
      startSeen: true,
      recordSeen: true,
      nextSeq: 3,
    });
  });

  it('when the log is split at any byte boundary, then the events are the same', () => {
    const bytes = Buffer.from(SAMPLE);
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(parseAll([bytes.subarray(0, cut), bytes.subarray(cut)]), `cut at ${cut}`).toEqual(SAMPLE_EVENTS);
    }
    const oneByteAtATime = [...bytes].map((b) => Buffer.from([b]));
    expect(parseAll(oneByteAtATime)).toEqual(SAMPLE_EVENTS);
  });

  it('when chunks are strings, then they are parsed like buffers', () => {
    expect(parseAll([SAMPLE.slice(0, 20), SAMPLE.slice(20)])).toEqual(SAMPLE_EVENTS);
  });

  it('when lines end in CRLF, then the CR is ignored', () => {
    expect(parseAll([SAMPLE.replaceAll('\n', '\r\n')])).toEqual(SAMPLE_EVENTS);
  });

  it('when a line is garbage, then it is a problem and the lines around it still parse', () => {
    const log =
      'S {"v":1}\n' + frame('O', 0, 'a') + 'panic: runtime error\n' + frame('O', 1, 'b') + 'O x Zm9v\n';
    const events = parseAll([log]);
    expect(outputs(events).map((o) => o.seq)).toEqual([0, 1]);
    expect(problems(events)).toEqual([
      'line 3 is not a runner frame: "panic: runtime error"',
      'line 5 is not a valid output frame: "O x Zm9v"',
    ]);
  });

  it('when base64 is malformed, then the frame is a problem', () => {
    const events = parseAll(['S {"v":1}\nO 0 Zm9\nE 0 Zm9v!\n']);
    expect(outputs(events)).toEqual([]);
    expect(problems(events)).toHaveLength(2);
  });

  it('when frames are missing, then the gap is a problem and the later frames are still delivered', () => {
    const parser = new RunnerLogParser();
    const events = parseAll(
      ['S {"v":1}\n', frame('O', 0, 'a'), frame('O', 3, 'd'), frame('E', 5, 'f'), recordLine({ frames: 6 })],
      parser,
    );
    expect(outputs(events).map((o) => o.seq)).toEqual([0, 3, 5]);
    expect(problems(events)).toEqual([
      'frames 1..2 missing (log truncated?)',
      'frame 4 missing (log truncated?)',
    ]);
    expect(parser.nextSeq).toBe(6);
  });

  it('when a frame repeats, then it is dropped with a problem', () => {
    const events = parseAll(['S {"v":1}\n', frame('O', 0, 'a'), frame('O', 1, 'b'), frame('O', 1, 'b')]);
    expect(outputs(events).map((o) => o.seq)).toEqual([0, 1]);
    expect(problems(events)).toEqual(['frame 1 repeated or out of order (expected 2); dropped']);
  });

  it('when the record counts more frames than arrived, then the missing tail is a problem', () => {
    const events = parseAll(['S {"v":1}\n', frame('O', 0, 'a'), recordLine({ frames: 3 })]);
    expect(problems(events)).toEqual(['frames 1..2 missing (log truncated?)']);
    expect(events.at(-1)).toMatchObject({ kind: 'record' });
  });

  it('when the record counts fewer frames than arrived, then that is a problem', () => {
    const events = parseAll([
      'S {"v":1}\n',
      frame('O', 0, 'a'),
      frame('O', 1, 'b'),
      recordLine({ frames: 1 }),
    ]);
    expect(problems(events)).toEqual(['termination record counts 1 frames but the log has 2']);
  });

  it('when the last line has no newline at the end, then end() reports it and does not parse it', () => {
    const parser = new RunnerLogParser();
    const pushed = parser.push('S {"v":1}\n' + frame('O', 0, 'a') + 'O 1 Zm9');
    expect(outputs(pushed).map((o) => o.seq)).toEqual([0]);
    expect(parser.end()).toEqual([
      { kind: 'problem', problem: 'log ends inside a line (7 bytes without a newline)' },
    ]);
    expect(parser.nextSeq).toBe(1);
    expect(parser.summary.recordSeen).toBe(false);
  });

  it('when resuming with skipBelowSeq after a replay from the start, then earlier frames are dropped silently', () => {
    const first = new RunnerLogParser();
    const bytes = Buffer.from(SAMPLE);
    const cut = SAMPLE.indexOf('E 1');
    first.push(bytes.subarray(0, cut + 3)); // the connection breaks inside frame 1
    expect(first.nextSeq).toBe(1);

    const resumed = new RunnerLogParser({ skipBelowSeq: first.nextSeq });
    const events = parseAll([bytes], resumed);
    expect(events).toEqual([SAMPLE_EVENTS[0], SAMPLE_EVENTS[2], SAMPLE_EVENTS[3], SAMPLE_EVENTS[4]]);
    expect(resumed.summary).toMatchObject({ frames: 2, skipped: 1, problems: 0, nextSeq: 3 });
  });

  it('when resuming and the replay no longer reaches back to skipBelowSeq, then the gap is a problem', () => {
    const resumed = new RunnerLogParser({ skipBelowSeq: 2 });
    const events = parseAll([frame('O', 5, 'f'), frame('O', 6, 'g')], resumed);
    expect(problems(events)).toEqual([
      'log does not begin with the start marker (log truncated?)',
      'frames 2..4 missing (log truncated?)',
    ]);
    expect(outputs(events).map((o) => o.seq)).toEqual([5, 6]);
  });

  it('when the record line is valid, then its fields are returned as parsed', () => {
    const record: TerminationRecord = {
      ...RECORD,
      verdict: 'output_limit',
      exit_code: null,
      signal: 'SIGKILL',
      output_truncated: true,
      frames: 0,
      reason: 'output limit of 10 bytes reached',
    };
    const events = parseAll([`S {"v":1}\nX ${JSON.stringify(record)}\n`]);
    expect(events).toEqual([
      { kind: 'start', info: { v: 1 } },
      { kind: 'record', record },
    ]);
  });

  it('when the record line does not match the schema, then it is a problem and no record', () => {
    const parser = new RunnerLogParser();
    const events = parseAll(['S {"v":1}\nX {"v":1,"verdict":"completed"}\nX not json\n'], parser);
    expect(problems(events)).toHaveLength(2);
    expect(problems(events)[0]).toMatch(/^line 2: termination message does not match the runner protocol/);
    expect(problems(events)[1]).toMatch(/^line 3: termination message is not JSON/);
    expect(parser.summary.recordSeen).toBe(false);
  });

  it('when lines follow the record, then each is a problem', () => {
    const events = parseAll([
      SAMPLE + 'integr8scode-runner run: cannot write the termination log\n' + recordLine(),
    ]);
    expect(events.slice(0, SAMPLE_EVENTS.length)).toEqual(SAMPLE_EVENTS);
    expect(problems(events)).toEqual([
      'line 6 after the termination record: "integr8scode-runner run: cannot write the termination log"',
      expect.stringMatching(/^line 7 after the termination record: "X \{/),
    ]);
  });

  it('when the start marker is missing, then that is one problem, reported at the first frame', () => {
    const events = parseAll([frame('O', 0, 'a'), frame('O', 1, 'b'), recordLine({ frames: 2 })]);
    expect(problems(events)).toEqual(['log does not begin with the start marker (log truncated?)']);
    expect(outputs(events)).toHaveLength(2);
  });

  it('when the log is empty, then end() reports the missing start marker', () => {
    expect(parseAll([])).toEqual([{ kind: 'problem', problem: 'log has no start marker' }]);
  });

  it('when the start marker is bad or repeated, then that is a problem', () => {
    expect(problems(parseAll(['S {"v":2}\n']))).toEqual(['runner protocol version 2, this parser reads 1']);
    expect(problems(parseAll(['S {}\n']))).toEqual([
      'line 1: start marker without a protocol version: "S {}"',
    ]);
    expect(problems(parseAll(['S {"v":1}\nS {"v":1}\n']))).toEqual([
      'line 2: start marker in the middle of the log',
    ]);
  });

  it('when the start marker carries more fields, then they are kept', () => {
    expect(parseAll(['S {"v":1,"runner":"x"}\n'])).toEqual([{ kind: 'start', info: { v: 1, runner: 'x' } }]);
  });

  it('when a line is longer than 16 KiB, then it is dropped with one problem and the next line parses', () => {
    // "O 1000 " + 16376 base64 chars = 16383 bytes, 16384 with the newline: the longest valid line.
    const longest = `O 1000 ${'A'.repeat(16376)}\n`;
    expect(longest.length).toBe(MAX_LINE_BYTES);
    const tooLong = `O 1001 ${'A'.repeat(16377)}\n`;
    for (const chunkSize of [1000, 1 << 20]) {
      const parser = new RunnerLogParser({ skipBelowSeq: 1000 });
      const log = Buffer.from('S {"v":1}\n' + longest + tooLong + frame('O', 1001, 'ok'));
      const chunks: Buffer[] = [];
      for (let i = 0; i < log.length; i += chunkSize) chunks.push(log.subarray(i, i + chunkSize));
      const events = parseAll(chunks, parser);
      expect(problems(events)).toEqual([`line 3 is longer than ${MAX_LINE_BYTES} bytes (dropped)`]);
      expect(outputs(events).map((o) => o.seq)).toEqual([1000, 1001]);
    }
  });

  it('when a line grows past 16 KiB without a newline, then it is reported at once and not buffered', () => {
    const parser = new RunnerLogParser();
    expect(problems(parser.push('S {"v":1}\n' + 'A'.repeat(MAX_LINE_BYTES + 1)))).toEqual([
      `line 2 is longer than ${MAX_LINE_BYTES} bytes (dropped)`,
    ]);
    expect(parser.push('A'.repeat(1 << 20))).toEqual([]);
    const rest = parseAll(['AAAA\n' + frame('O', 0, 'ok')], parser);
    expect(outputs(rest)).toEqual([{ stream: 'stdout', seq: 0, data: Buffer.from('ok').toString('hex') }]);
    expect(problems(rest)).toEqual([]);
  });

  it('when data arrives after end(), then it is a problem', () => {
    const parser = new RunnerLogParser();
    parseAll([SAMPLE], parser);
    expect(parser.push(frame('O', 3, 'late'))).toEqual([
      { kind: 'problem', problem: 'log data after the end of the log' },
    ]);
  });
});

describe('RunnerLogParser: edges', () => {
  it('when skipBelowSeq is negative, fractional or not a number, then nothing is skipped', () => {
    for (const skipBelowSeq of [-3, 2.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      const parser = new RunnerLogParser({ skipBelowSeq });
      expect(parser.nextSeq, String(skipBelowSeq)).toBe(0);
      const events = parseAll(['S {"v":1}\n', frame('O', 0, 'a'), frame('O', 1, 'b')], parser);
      expect(outputs(events).map((o) => o.seq)).toEqual([0, 1]);
      expect(parser.summary.skipped).toBe(0);
    }
  });

  it('when the longest valid line ends in CRLF, then the CR is not counted against the limit', () => {
    // 16383 bytes + CR + LF: the CR is tolerated, so the line is still the longest valid one.
    const longestCrlf = `O 1000 ${'A'.repeat(16376)}\r\n`;
    expect(longestCrlf.length).toBe(MAX_LINE_BYTES + 1);
    const events = parseAll(['S {"v":1}\n', longestCrlf], new RunnerLogParser({ skipBelowSeq: 1000 }));
    expect(problems(events)).toEqual([]);
    expect(outputs(events).map((o) => o.seq)).toEqual([1000]);
  });

  it('when a line is one byte longer than that (without CR), then it is dropped', () => {
    const events = parseAll(['S {"v":1}\n', `O 1000 ${'A'.repeat(16377)}\n`]);
    expect(problems(events)).toEqual([`line 2 is longer than ${MAX_LINE_BYTES} bytes (dropped)`]);
    expect(outputs(events)).toEqual([]);
  });

  it('when the start marker is not JSON, then that is a problem and it still counts as the start', () => {
    const parser = new RunnerLogParser();
    const events = parseAll(['S {oops\n', frame('O', 0, 'a')], parser);
    expect(problems(events)).toEqual(['line 1: start marker is not JSON: "S {oops"']);
    expect(outputs(events).map((o) => o.seq)).toEqual([0]);
    expect(parser.summary).toMatchObject({ startSeen: true, problems: 1, frames: 1 });
  });

  it('when end() is called twice, then the second call reports nothing new', () => {
    const parser = new RunnerLogParser();
    expect(parser.end()).toEqual([{ kind: 'problem', problem: 'log has no start marker' }]);
    expect(parser.end()).toEqual([]);
    expect(parser.summary.problems).toBe(1);
  });

  it('when problems occur, then the summary counts each of them', () => {
    const parser = new RunnerLogParser();
    parseAll(['S {"v":1}\n', 'junk\n', 'more junk\n', frame('O', 2, 'x')], parser);
    expect(parser.summary).toEqual({
      frames: 1,
      skipped: 0,
      problems: 3,
      startSeen: true,
      recordSeen: false,
      nextSeq: 3,
    });
  });

  it('when a bad line is exactly 80 characters, then it is quoted whole; when longer, cut at 80 with its length', () => {
    const eighty = 'z'.repeat(80);
    const longer = 'y'.repeat(81);
    expect(problems(parseAll(['S {"v":1}\n', `${eighty}\n`, `${longer}\n`]))).toEqual([
      `line 2 is not a runner frame: "${eighty}"`,
      `line 3 is not a runner frame: "${'y'.repeat(80)}"... (81 chars)`,
    ]);
  });

  it('when a bad line holds bytes outside printable ASCII, then they are shown as "?"', () => {
    const line = Buffer.concat([Buffer.from('bad '), Buffer.from([0xe9, 0xff]), Buffer.from(' tail\n')]);
    expect(problems(parseAll([Buffer.from('S {"v":1}\n'), line]))).toEqual([
      'line 2 is not a runner frame: "bad ?? tail"',
    ]);
  });

  it('when frames use padded base64 or a long seq, then they parse; a tag other than O/E or a leading zero does not', () => {
    const events = parseAll([
      'S {"v":1}\n',
      'O 0 YQ==\n',
      'E 1 YWI=\n',
      'O 1234567890123456 YWJj\n',
      'X 3 YQ==\n',
      'O 01 YQ==\n',
      'O 2 YQ===\n',
    ]);
    expect(outputs(events)).toEqual([
      { stream: 'stdout', seq: 0, data: Buffer.from('a').toString('hex') },
      { stream: 'stderr', seq: 1, data: Buffer.from('ab').toString('hex') },
      { stream: 'stdout', seq: 1234567890123456, data: Buffer.from('abc').toString('hex') },
    ]);
    expect(problems(events)).toEqual([
      'frames 2..1234567890123455 missing (log truncated?)',
      expect.stringMatching(/^line 5: termination message is not JSON/),
      'line 6 is not a valid output frame: "O 01 YQ=="',
      'line 7 is not a valid output frame: "O 2 YQ==="',
    ]);
  });

  it('when a frame has an empty payload, then it is delivered as empty output', () => {
    expect(outputs(parseAll(['S {"v":1}\nO 0 \n']))).toEqual([{ stream: 'stdout', seq: 0, data: '' }]);
  });
});
