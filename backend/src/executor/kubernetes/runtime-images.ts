import type { Runtime } from '../executor-backend.js';

/** A runtime the Kubernetes backend offers: the image it runs in and the program the runner starts. */
export interface KubernetesRuntime extends Runtime {
  image: string;
  /** Environment of the executor container (HOME and caches point into the writable work dir). */
  env: Record<string, string>;
}

interface LanguageSpec {
  fileExtension: string;
  /** argv inside the container, run in the work dir where the script is `main.<ext>`. */
  command: readonly string[];
  exampleScript: string;
  env?: Record<string, string>;
}

const BASE_ENV = { HOME: '/work', TMPDIR: '/tmp', LANG: 'C.UTF-8' };

// Images differ in where interpreters live, so commands name them through PATH.
const LANGUAGES: Record<string, LanguageSpec> = {
  python: {
    fileExtension: 'py',
    command: ['python3', '-u', 'main.py'],
    exampleScript: 'print("Hello, world!")\n',
    env: { PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
  },
  node: {
    fileExtension: 'js',
    command: ['node', 'main.js'],
    exampleScript: "console.log('Hello, world!');\n",
  },
  ruby: { fileExtension: 'rb', command: ['ruby', 'main.rb'], exampleScript: 'puts "Hello, world!"\n' },
  bash: { fileExtension: 'sh', command: ['bash', 'main.sh'], exampleScript: 'echo "Hello, world!"\n' },
  go: {
    fileExtension: 'go',
    command: ['go', 'run', 'main.go'],
    exampleScript: 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("Hello, world!")\n}\n',
    env: {
      GOCACHE: '/tmp/gocache',
      GOPATH: '/tmp/go',
      GOTOOLCHAIN: 'local',
      GOFLAGS: '-buildvcs=false',
      CGO_ENABLED: '0',
    },
  },
};

export const KUBERNETES_LANGUAGES = Object.keys(LANGUAGES);

/**
 * Parses K8S_RUNTIME_IMAGES (`python/3.12=python:3.12-slim,node/22=node:22-slim`). The settings
 * pattern already checked the shape; this names the entry when a language is unknown or repeated.
 */
export function parseRuntimeImages(value: string): KubernetesRuntime[] {
  const runtimes: KubernetesRuntime[] = [];
  const seen = new Set<string>();
  for (const entry of value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')) {
    const match = /^([a-z]+)\/([0-9][0-9.]*)=(\S+)$/.exec(entry);
    if (!match?.[1] || !match[2] || !match[3]) {
      throw new Error(`K8S_RUNTIME_IMAGES: "${entry}" is not "lang/version=image"`);
    }
    const [, lang, version, image] = match;
    const spec = LANGUAGES[lang];
    if (!spec) {
      throw new Error(
        `K8S_RUNTIME_IMAGES: unknown language "${lang}" in "${entry}" (known: ${KUBERNETES_LANGUAGES.join(', ')})`,
      );
    }
    const key = `${lang}/${version}`;
    if (seen.has(key)) throw new Error(`K8S_RUNTIME_IMAGES: ${key} is listed twice`);
    seen.add(key);
    runtimes.push({
      lang,
      version,
      fullVersion: version,
      fileExtension: spec.fileExtension,
      command: spec.command,
      exampleScript: spec.exampleScript,
      image,
      env: { ...BASE_ENV, ...spec.env },
    });
  }
  if (runtimes.length === 0) throw new Error('K8S_RUNTIME_IMAGES: no runtime configured');
  return runtimes;
}
