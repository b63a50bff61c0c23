#!/usr/bin/env node
// Readiness probe for the local dev/test servers, speaking each wire protocol directly so that
// "ready" means "answers a real request", not "some process listens on the port".
//
//   node scripts/infra/probe.mjs <kafka|mongo|redis> <host> <port> [--password P] [--timeout-ms N]
//
// kafka: Metadata request (v4, accepted by Kafka 2.x through 4.x) must list at least one broker.
//        The broker only appears once it has registered with the KRaft controller and been
//        unfenced, which ApiVersions alone would not prove.
// mongo: OP_MSG {isMaster: 1, $db: "admin"} must answer ok: 1. isMaster rather than hello:
//        mongo-java-server only knows the legacy name (it logs a stack trace for every unknown
//        command); every real MongoDB up to 8.x still accepts it. Falls back to {hello: 1}.
// redis: AUTH <password> (when --password is given) then PING must answer +PONG.
//
// Retries until the timeout (default 60 s for kafka, 30 s otherwise). Exit codes:
//   0 ready, 1 not ready before the timeout, 2 usage error or a failure retrying cannot fix
//   (e.g. wrong Redis password).
// No dependencies: Node's standard library only. Dials loopback addresses only.

import net from 'node:net';

const USAGE = 'usage: probe.mjs <kafka|mongo|redis> <host> <port> [--password P] [--timeout-ms N]';
const ATTEMPT_TIMEOUT_MS = 3000;
const RETRY_DELAY_MS = 250;

class FatalProbeError extends Error {}

function fail(code, message) {
  process.stderr.write(`probe: ${message}\n`);
  process.exit(code);
}

function parseArgs(argv) {
  const positional = [];
  const opts = { password: undefined, timeoutMs: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--password') {
      if (i + 1 >= argv.length) fail(2, `--password needs a value\n${USAGE}`);
      opts.password = argv[++i];
    } else if (arg === '--timeout-ms') {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value <= 0) fail(2, `--timeout-ms needs a positive integer\n${USAGE}`);
      opts.timeoutMs = value;
    } else if (arg === '-h' || arg === '--help') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else {
      positional.push(arg);
    }
  }
  if (positional.length !== 3) fail(2, USAGE);
  const [kind, host, portText] = positional;
  if (!['kafka', 'mongo', 'redis'].includes(kind)) fail(2, `unknown service '${kind}'\n${USAGE}`);
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(2, `bad port '${portText}'`);
  // These servers only ever run on this machine; never dial anything else.
  const loopback = host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  if (!loopback) fail(2, `refusing to probe non-loopback host '${host}'`);
  const timeoutMs = opts.timeoutMs ?? (kind === 'kafka' ? 60_000 : 30_000);
  return { kind, host, port, password: opts.password, timeoutMs };
}

// One request/response exchange over a fresh connection. `handler(buffer)` is called with all
// bytes received so far; it returns undefined while it needs more bytes, otherwise the result
// (or throws). `handler` may also return { send: Buffer } to write a follow-up request.
function exchange(host, port, firstRequest, handler, timeoutMs) {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ host, port });
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (err, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () => socket.write(firstRequest));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      let outcome;
      try {
        outcome = handler(received);
      } catch (err) {
        finish(err);
        return;
      }
      if (outcome === undefined) return;
      if (outcome && outcome.send) {
        received = Buffer.alloc(0);
        socket.write(outcome.send);
        return;
      }
      finish(null, outcome);
    });
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish(new Error('connection closed before a complete answer')));
  });
}

// ---------------------------------------------------------------- Kafka

const KAFKA_METADATA_API_KEY = 3;
const KAFKA_METADATA_VERSION = 4; // lowest version Kafka 4.x still accepts; non-flexible encoding

function kafkaMetadataRequest(correlationId) {
  const clientId = Buffer.from('integr8scode-probe');
  // Request header v1: api_key, api_version, correlation_id, client_id (nullable string).
  // Body v4: topics (nullable array; empty = no topics, only brokers), allow_auto_topic_creation.
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 4 + 1);
  let o = 0;
  o = body.writeInt16BE(KAFKA_METADATA_API_KEY, o);
  o = body.writeInt16BE(KAFKA_METADATA_VERSION, o);
  o = body.writeInt32BE(correlationId, o);
  o = body.writeInt16BE(clientId.length, o);
  o += clientId.copy(body, o);
  o = body.writeInt32BE(0, o); // topics: empty array
  body.writeInt8(0, o); // allow_auto_topic_creation: false
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

function parseKafkaMetadata(buf, correlationId) {
  if (buf.length < 4) return undefined;
  const size = buf.readInt32BE(0);
  if (buf.length < 4 + size) return undefined;
  let o = 4;
  const readString = () => {
    const len = buf.readInt16BE(o);
    o += 2;
    if (len < 0) return null;
    const s = buf.toString('utf8', o, o + len);
    o += len;
    return s;
  };
  const gotCorrelation = buf.readInt32BE(o);
  o += 4;
  if (gotCorrelation !== correlationId) throw new Error(`unexpected correlation id ${gotCorrelation}`);
  o += 4; // throttle_time_ms
  const brokerCount = buf.readInt32BE(o);
  o += 4;
  const brokers = [];
  for (let i = 0; i < brokerCount; i++) {
    const nodeId = buf.readInt32BE(o);
    o += 4;
    const host = readString();
    const port = buf.readInt32BE(o);
    o += 4;
    readString(); // rack
    brokers.push({ nodeId, host, port });
  }
  const clusterId = readString();
  const controllerId = buf.readInt32BE(o);
  return { brokers, clusterId, controllerId };
}

async function probeKafka(host, port, _password, attemptTimeoutMs) {
  const correlationId = 1 + Math.floor(Math.random() * 1_000_000);
  const meta = await exchange(
    host,
    port,
    kafkaMetadataRequest(correlationId),
    (buf) => parseKafkaMetadata(buf, correlationId),
    attemptTimeoutMs,
  );
  if (meta.brokers.length === 0)
    throw new Error('metadata lists no broker yet (broker not registered/unfenced)');
  const list = meta.brokers.map((b) => `${b.nodeId}@${b.host}:${b.port}`).join(',');
  return `kafka ready: cluster ${meta.clusterId}, brokers ${list}, controller ${meta.controllerId}`;
}

// ---------------------------------------------------------------- MongoDB

const OP_MSG = 2013;

// Minimal BSON for {<command>: 1, $db: "admin"}.
function bsonCommand(command) {
  const parts = [];
  const cstring = (s) => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
  const int32 = (n) => {
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    return b;
  };
  parts.push(Buffer.from([0x10]), cstring(command), int32(1)); // int32 element
  const db = cstring('admin');
  parts.push(Buffer.from([0x02]), cstring('$db'), int32(db.length), db); // string element
  parts.push(Buffer.from([0x00]));
  const elements = Buffer.concat(parts);
  return Buffer.concat([int32(4 + elements.length), elements]);
}

function mongoOpMsg(requestId, command) {
  const doc = bsonCommand(command);
  const header = Buffer.alloc(16 + 4 + 1);
  header.writeInt32LE(16 + 4 + 1 + doc.length, 0); // messageLength
  header.writeInt32LE(requestId, 4);
  header.writeInt32LE(0, 8); // responseTo
  header.writeInt32LE(OP_MSG, 12);
  header.writeUInt32LE(0, 16); // flagBits
  header.writeUInt8(0, 20); // section kind 0: body
  return Buffer.concat([header, doc]);
}

// Reads the top-level scalar fields of a BSON document (nested documents are skipped).
function parseBsonTopLevel(buf, start) {
  const end = start + buf.readInt32LE(start);
  const fields = {};
  let o = start + 4;
  while (o < end - 1) {
    const type = buf.readUInt8(o++);
    const nameEnd = buf.indexOf(0, o);
    const name = buf.toString('utf8', o, nameEnd);
    o = nameEnd + 1;
    switch (type) {
      case 0x01:
        fields[name] = buf.readDoubleLE(o);
        o += 8;
        break; // double
      case 0x02: {
        const len = buf.readInt32LE(o);
        fields[name] = buf.toString('utf8', o + 4, o + 4 + len - 1);
        o += 4 + len;
        break;
      }
      case 0x03:
      case 0x04:
        o += buf.readInt32LE(o);
        break; // document, array
      case 0x05:
        o += 4 + 1 + buf.readInt32LE(o);
        break; // binary
      case 0x07:
        o += 12;
        break; // ObjectId
      case 0x08:
        fields[name] = buf.readUInt8(o) === 1;
        o += 1;
        break; // bool
      case 0x09:
      case 0x11:
        o += 8;
        break; // datetime, timestamp
      case 0x0a:
      case 0x7f:
      case 0xff:
        fields[name] = null;
        break; // null, max/min key
      case 0x0b:
        o = buf.indexOf(0, buf.indexOf(0, o) + 1) + 1;
        break; // regex: two cstrings
      case 0x10:
        fields[name] = buf.readInt32LE(o);
        o += 4;
        break; // int32
      case 0x12:
        fields[name] = Number(buf.readBigInt64LE(o));
        o += 8;
        break; // int64
      case 0x13:
        o += 16;
        break; // decimal128
      default:
        return fields; // unknown type: stop, keep what we have
    }
  }
  return fields;
}

function parseOpMsgReply(buf, requestId) {
  if (buf.length < 4) return undefined;
  const length = buf.readInt32LE(0);
  if (buf.length < length) return undefined;
  const responseTo = buf.readInt32LE(8);
  const opCode = buf.readInt32LE(12);
  if (opCode !== OP_MSG) throw new Error(`unexpected reply opCode ${opCode}`);
  if (responseTo !== requestId) throw new Error(`reply to request ${responseTo}, expected ${requestId}`);
  if (buf.readUInt8(20) !== 0) throw new Error('reply does not start with a body section');
  return parseBsonTopLevel(buf, 21);
}

async function probeMongo(host, port, _password, attemptTimeoutMs) {
  const isMasterId = 1 + Math.floor(Math.random() * 1_000_000);
  const helloId = isMasterId + 1;
  let asked = 'isMaster';
  const reply = await exchange(
    host,
    port,
    mongoOpMsg(isMasterId, 'isMaster'),
    (buf) => {
      const doc = parseOpMsgReply(buf, asked === 'isMaster' ? isMasterId : helloId);
      if (doc === undefined) return undefined;
      if (doc.ok !== 1 && asked === 'isMaster') {
        // A future MongoDB that dropped the legacy name: ask with the current one.
        asked = 'hello';
        return { send: mongoOpMsg(helloId, 'hello') };
      }
      return doc;
    },
    attemptTimeoutMs,
  );
  if (reply.ok !== 1) throw new Error(`${asked} answered ok: ${reply.ok} (${reply.errmsg ?? 'no errmsg'})`);
  return `mongo ready: ${asked} ok, maxWireVersion ${reply.maxWireVersion}`;
}

// ---------------------------------------------------------------- Redis

function respCommand(...args) {
  let out = `*${args.length}\r\n`;
  for (const a of args) out += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
  return Buffer.from(out);
}

async function probeRedis(host, port, password, attemptTimeoutMs) {
  const request =
    password === undefined
      ? respCommand('PING')
      : Buffer.concat([respCommand('AUTH', password), respCommand('PING')]);
  const expectedLines = password === undefined ? 1 : 2;
  const lines = await exchange(
    host,
    port,
    request,
    (buf) => {
      const text = buf.toString('utf8');
      const got = text.split('\r\n').slice(0, -1); // complete lines only
      // An error reply to AUTH ends the exchange early: no need to wait for PING's answer.
      if (got.length >= 1 && got[0].startsWith('-') && !got[0].startsWith('-LOADING')) return got;
      return got.length >= expectedLines ? got : undefined;
    },
    attemptTimeoutMs,
  );
  const bad = lines.find((l) => l.startsWith('-'));
  if (bad) {
    // Still loading the AOF: retrying helps. Wrong/missing password: it never will.
    if (bad.startsWith('-LOADING')) throw new Error(`redis is loading its data set (${bad})`);
    if (/NOAUTH|WRONGPASS|invalid password|without any password configured|AUTH failed/i.test(bad)) {
      throw new FatalProbeError(`redis rejected authentication: ${bad.slice(1)} (check REDIS_PASSWORD)`);
    }
    throw new Error(`redis answered ${bad}`);
  }
  if (lines[lines.length - 1] !== '+PONG') throw new Error(`unexpected PING answer ${JSON.stringify(lines)}`);
  return 'redis ready: PONG';
}

// ---------------------------------------------------------------- main

const PROBES = { kafka: probeKafka, mongo: probeMongo, redis: probeRedis };

async function main() {
  const { kind, host, port, password, timeoutMs } = parseArgs(process.argv.slice(2));
  const deadline = Date.now() + timeoutMs;
  let lastError;
  let attempts = 0;
  for (;;) {
    attempts++;
    const remaining = deadline - Date.now();
    try {
      const message = await PROBES[kind](
        host,
        port,
        password,
        Math.max(200, Math.min(ATTEMPT_TIMEOUT_MS, remaining)),
      );
      process.stdout.write(`${message} (${host}:${port}, attempt ${attempts})\n`);
      return 0;
    } catch (err) {
      if (err instanceof FatalProbeError) {
        process.stderr.write(`probe: ${kind} at ${host}:${port}: ${err.message}\n`);
        return 2;
      }
      lastError = err;
    }
    if (Date.now() + RETRY_DELAY_MS >= deadline) break;
    await new Promise((r) => setTimeout(r, RETRY_DELAY_MS));
  }
  const reason = lastError?.code ? `${lastError.code}: ${lastError.message}` : lastError?.message;
  process.stderr.write(
    `probe: ${kind} at ${host}:${port} not ready after ${timeoutMs} ms (${attempts} attempts); last error: ${reason}\n`,
  );
  return 1;
}

process.exitCode = await main();
