import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settingKeys } from '../../src/settings/schema.js';
import { signUp, submit, SystemUnderTest, waitForResult, waitForRuntimes, type Client } from './system.js';

// The keys that make up an execution's limits (maxLimits), at their schema defaults: config.test.toml
// lowers them for the other tests, and a runtime must work at what a deployment gets by default.
const LIMIT_KEYS = [
  'K8S_POD_EXECUTION_TIMEOUT',
  'EXECUTION_MAX_CPU_SECONDS',
  'K8S_POD_MEMORY_LIMIT',
  'EXECUTION_MAX_PROCESSES',
  'EXECUTION_MAX_FILE_BYTES',
  'EXECUTION_MAX_OUTPUT_BYTES',
] as const;
const DEFAULT_LIMITS = Object.fromEntries(
  LIMIT_KEYS.map((key) => [`INTEGR8SCODE_${key}`, String(settingKeys[key].default)]),
);

/** scripts/install-sandbox.sh guarantees these on this machine. */
const EXPECTED_LANGS = ['python', 'node', 'bash', 'go', 'ruby'];

const system = new SystemUnderTest(DEFAULT_LIMITS);
let client: Client;

beforeAll(async () => {
  await system.startAll();
  client = await signUp(system.apiUrl());
  await waitForRuntimes(client);
}, 300_000);
afterAll(() => system.stop(), 60_000);

interface Advertised {
  limits: Record<string, number>;
  runtimes: { lang: string; version: string }[];
}

describe('every advertised runtime through HTTP at the default limits', () => {
  it('when the system runs on this machine, then python, node, bash, go and ruby are advertised at the default limits', async () => {
    const body = (await (await client.request('/k8s-limits')).json()) as Advertised;
    expect(body.runtimes.map((r) => r.lang).sort()).toEqual(expect.arrayContaining(EXPECTED_LANGS));
    expect(body.limits).toMatchObject({
      cpu_seconds: settingKeys.EXECUTION_MAX_CPU_SECONDS.default,
      max_file_bytes: settingKeys.EXECUTION_MAX_FILE_BYTES.default,
      max_processes: settingKeys.EXECUTION_MAX_PROCESSES.default,
    });
  });

  it('when each advertised runtime runs its example without limit overrides, then it completes with exit 0 and prints Hello, world!', async () => {
    const advertised = ((await (await client.request('/k8s-limits')).json()) as Advertised).runtimes;
    const { scripts } = (await (await client.request('/example-scripts')).json()) as {
      scripts: Record<string, Record<string, string>>;
    };
    expect(advertised.length).toBeGreaterThan(0);
    const results = await Promise.all(
      advertised.map(async ({ lang, version }) => {
        const script = scripts[lang]?.[version];
        if (script === undefined) return { lang, version, missing: 'no example script' };
        const id = await submit(client, script, { lang, lang_version: version });
        const result = await waitForResult(client, id, 120_000);
        return {
          lang,
          version,
          status: result.status,
          exit_code: result.exit_code,
          stdout: result.stdout,
          ...(result.status === 'completed' && result.exit_code === 0
            ? {}
            : { stderr: result.stderr.slice(0, 300), reason: result.reason }),
        };
      }),
    );
    // One assertion over all of them, so a broken runtime is named with its stderr.
    expect(results).toEqual(
      advertised.map(({ lang, version }) => ({
        lang,
        version,
        status: 'completed',
        exit_code: 0,
        stdout: 'Hello, world!\n',
      })),
    );
  }, 180_000);
});
