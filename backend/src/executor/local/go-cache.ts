import { execFile } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { goBuildEnv, type RuntimeSpec } from '../runtimes.js';

const execFileAsync = promisify(execFile);

/**
 * A Go build cache holding the standard library packages the example needs, built once per Go
 * version on the host (our own trusted example, not user code) and mounted read-only as the seed
 * each run copies into its tmpfs. Reused when present, owned by us and not writable by others.
 */
export async function ensureGoCacheSeed(spec: RuntimeSpec, cacheDir: string): Promise<string> {
  if (!spec.goRoot) throw new Error('not a Go runtime');
  await mkdir(cacheDir, { recursive: true, mode: 0o755 });
  await assertPrivateDir(cacheDir);
  const target = join(cacheDir, `go-${spec.fullVersion}`);
  try {
    const info = await lstat(join(target, 'seeded'));
    if (info.isFile() && info.uid === process.getuid?.()) return target;
  } catch {
    // Not seeded yet.
  }
  const work = await mkdtemp(join(cacheDir, 'seeding-'));
  try {
    const cache = join(work, 'cache');
    await writeFile(join(work, 'main.go'), spec.exampleScript);
    await execFileAsync(join(spec.goRoot, 'bin', 'go'), ['build', '-o', '/dev/null', 'main.go'], {
      cwd: work,
      timeout: 300_000,
      env: { ...goBuildEnv(spec), HOME: work, GOCACHE: cache, GOPATH: join(work, 'gopath'), TMPDIR: work },
    });
    await writeFile(join(cache, 'seeded'), '');
    await chmodTree(cache);
    await rm(target, { recursive: true, force: true });
    await rename(cache, target);
    return target;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function assertPrivateDir(dir: string): Promise<void> {
  const info = await lstat(dir);
  if (!info.isDirectory() || info.uid !== process.getuid?.() || (info.mode & 0o022) !== 0) {
    throw new Error(`${dir} must be a directory owned by this user and writable only by it`);
  }
}

/** Readable (not writable) by the sandbox uid. */
async function chmodTree(dir: string): Promise<void> {
  await execFileAsync('chmod', ['-R', 'u+rwX,go+rX,go-w', dir]);
  await chmod(dir, 0o755);
}
