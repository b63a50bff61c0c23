// Runs the backend processes side by side for local development: each one's output lines are
// prefixed with its name; the first Ctrl-C (or SIGTERM) asks every process to stop and waits;
// a second one kills them. Exits non-zero if a process failed.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = (name) => join(root, 'backend', 'src', 'entrypoints', `${name}.ts`);

// The pod monitor has work only with EXECUTOR_BACKEND = kubernetes: otherwise it starts, says so
// and exits 0, which does not stop the others. event-replay fills the event store.
const processes = [
  'api',
  'saga-orchestrator',
  'k8s-worker',
  'result-processor',
  'dlq-processor',
  'pod-monitor',
  'event-replay',
];
const colours = [36, 35, 33, 32, 34, 31, 90];
const width = Math.max(...processes.map((p) => p.length));

const children = new Map();
let stopping = false;
let failed = false;

function prefixLines(name, colour, stream, out) {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) out.write(`\x1b[${colour}m${name.padEnd(width)} |\x1b[0m ${line}\n`);
  });
  stream.on('end', () => {
    if (pending) out.write(`\x1b[${colour}m${name.padEnd(width)} |\x1b[0m ${pending}\n`);
  });
}

processes.forEach((name, i) => {
  // Own process group: a terminal Ctrl-C reaches only this supervisor, which then sends each
  // process exactly one SIGTERM (two signals would skip the graceful drain).
  // node --import tsx (not the tsx CLI) so signals reach the process itself, not a relay.
  const child = spawn(process.execPath, ['--import', 'tsx', entry(name)], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: process.env,
    detached: true,
  });
  const colour = colours[i % colours.length];
  prefixLines(name, colour, child.stdout, process.stdout);
  prefixLines(name, colour, child.stderr, process.stderr);
  children.set(name, child);
  child.on('exit', (code, signal) => {
    children.delete(name);
    if (code !== 0 && !stopping) failed = true;
    console.log(`\x1b[${colour}m${name.padEnd(width)} |\x1b[0m exited (${signal ?? `code ${code}`})`);
    if (!stopping && code !== 0) shutdown('a process failed');
    if (children.size === 0) process.exit(failed ? 1 : 0);
  });
});

function shutdown(reason) {
  if (stopping) {
    for (const child of children.values()) child.kill('SIGKILL');
    return;
  }
  stopping = true;
  console.log(`stopping (${reason})…`);
  for (const child of children.values()) child.kill('SIGTERM');
}
process.on('SIGINT', () => shutdown('Ctrl-C'));
process.on('SIGTERM', () => shutdown('SIGTERM'));

const port = process.env.INTEGR8SCODE_SERVER_PORT ?? '8000';
const api = `http://127.0.0.1:${port}/api/v1`;
console.log(`integr8scode is starting; API at ${api}. Ctrl-C stops everything.

Run a script (development users user/user123 and admin/admin123 are seeded):
  TOKEN=$(curl -s -X POST ${api}/auth/login -H 'content-type: application/json' \\
            -d '{"username":"user","password":"user123"}' | sed -E 's/.*"access_token":"([^"]+)".*/\\1/')
  ID=$(curl -s -X POST ${api}/execute -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
            -d '{"script":"print(\\"hello\\")","lang":"python","lang_version":"3.11"}' | sed -E 's/.*"execution_id":"([^"]+)".*/\\1/')
  curl -N ${api}/events/executions/$ID -H "authorization: Bearer $TOKEN"     # live SSE: status, output, result
`);
