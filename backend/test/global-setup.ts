import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { findBaseDir } from '../src/settings/settings.js';

/**
 * Starts the real test servers (Kafka, Mongo wire server, Redis) through the same script
 * developers use, and stops them afterwards only if this run started them. INFRA_KEEP=1 keeps
 * them running between local runs.
 */
const root = findBaseDir(process.cwd());
const script = join(root, 'scripts', 'infra.sh');

function infra(...args: string[]): number {
  const result = spawnSync('bash', [script, ...args, '--profile', 'test'], { stdio: 'inherit' });
  return result.status ?? 1;
}

export function setup(): () => void {
  const alreadyRunning =
    spawnSync('bash', [script, 'status', '--profile', 'test'], { stdio: 'ignore' }).status === 0;
  if (infra('up') !== 0) throw new Error(`${script} up --profile test failed (see its output above)`);
  return () => {
    if (!alreadyRunning && process.env.INFRA_KEEP !== '1') infra('down');
  };
}
