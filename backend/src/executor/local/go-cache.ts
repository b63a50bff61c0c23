import { execFile } from 'node:child_process';
import { chmod, copyFile, lstat, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { goBuildEnv, type RuntimeSpec } from '../runtimes.js';

const execFileAsync = promisify(execFile);

/**
 * What the seed is built from: the standard library packages scripts commonly import, so their
 * `go run` compiles only the script itself (each cold std package costs the run CPU and tmpfs).
 */
export const GO_SEED_PROGRAM = `package main

import (
	"bufio"
	"bytes"
	"container/heap"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/big"
	"math/rand"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

var (
	_ = bufio.NewReader
	_ = bytes.NewBuffer
	_ = heap.Init
	_ = json.Marshal
	_ = errors.New
	_ = maps.Keys[map[int]int]
	_ = math.Sqrt
	_ = big.NewInt
	_ = rand.Int
	_ = os.Exit
	_ = regexp.MustCompile
	_ = slices.Sort[[]int]
	_ = sort.Ints
	_ = strconv.Itoa
	_ = strings.ToUpper
	_ = time.Now
	_ = unicode.IsUpper
	_ sync.Mutex
)

func main() {
	fmt.Println("Hello, world!")
}
`;

/**
 * A Go build cache holding the standard library packages of GO_SEED_PROGRAM, built once per Go
 * version on the host (our own trusted program, not user code) and bound read-only into every Go
 * sandbox, where the cache program reads its hits. Reused when present, owned by us, and seeded
 * from the same program (the marker holds it).
 */
export async function ensureGoCacheSeed(spec: RuntimeSpec, cacheDir: string): Promise<string> {
  if (!spec.goRoot) throw new Error('not a Go runtime');
  await mkdir(cacheDir, { recursive: true, mode: 0o755 });
  await assertPrivateDir(cacheDir);
  const target = join(cacheDir, `go-${spec.fullVersion}`);
  const marker = join(target, 'seeded');
  try {
    const info = await lstat(marker);
    if (
      info.isFile() &&
      info.uid === process.getuid?.() &&
      (await readFile(marker, 'utf8')) === GO_SEED_PROGRAM
    )
      return target;
  } catch {
    // Not seeded yet.
  }
  const work = await mkdtemp(join(cacheDir, 'seeding-'));
  try {
    const cache = join(work, 'cache');
    await writeFile(join(work, 'main.go'), GO_SEED_PROGRAM);
    await execFileAsync(join(spec.goRoot, 'bin', 'go'), ['build', '-o', '/dev/null', 'main.go'], {
      cwd: work,
      timeout: 300_000,
      env: { ...goBuildEnv(spec), HOME: work, GOCACHE: cache, GOPATH: join(work, 'gopath'), TMPDIR: work },
    });
    await writeFile(join(cache, 'seeded'), GO_SEED_PROGRAM);
    await chmodTree(cache);
    await rm(target, { recursive: true, force: true });
    await rename(cache, target);
    return target;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Where scripts/build-go-cacheprog.sh leaves the cache program for a Go version. */
export function builtGoCacheProg(fullVersion: string, home = homedir()): string {
  return join(home, '.cache', 'integr8scode', `go-cacheprog-${fullVersion}`, 'go-cacheprog');
}

/**
 * Copies the cache program built by scripts/build-go-cacheprog.sh (under the worker's home, which
 * the sandbox uid cannot traverse) into the cache directory, readable and executable by the
 * sandbox, and returns that path. Throws with the fix when it was not built.
 */
export async function installGoCacheProg(
  spec: RuntimeSpec,
  cacheDir: string,
  built = builtGoCacheProg(spec.fullVersion),
): Promise<string> {
  try {
    await lstat(built);
  } catch {
    throw new Error(`the Go cache program ${built} is missing: run scripts/install-sandbox.sh`);
  }
  await mkdir(cacheDir, { recursive: true, mode: 0o755 });
  await assertPrivateDir(cacheDir);
  const target = join(cacheDir, `go-cacheprog-${spec.fullVersion}`);
  const work = await mkdtemp(join(cacheDir, 'cacheprog-'));
  try {
    await copyFile(built, join(work, 'go-cacheprog'));
    await chmod(join(work, 'go-cacheprog'), 0o755);
    // A rename, so sandboxes started from the previous copy keep theirs.
    await rename(join(work, 'go-cacheprog'), target);
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
