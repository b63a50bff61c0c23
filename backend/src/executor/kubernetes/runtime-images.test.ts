import { describe, expect, it } from 'vitest';
import { settingKeys } from '../../settings/schema.js';
import { parseRuntimeImages } from './runtime-images.js';

describe('parseRuntimeImages', () => {
  it('parses the default into one runtime per entry with its image and command', () => {
    const runtimes = parseRuntimeImages(settingKeys.K8S_RUNTIME_IMAGES.default);
    expect(runtimes.map((r) => `${r.lang}/${r.version}`)).toEqual([
      'python/3.12',
      'python/3.11',
      'node/22',
      'node/20',
      'ruby/3.3',
      'bash/5.2',
      'go/1.22',
    ]);
    const python = runtimes[0]!;
    expect(python.image).toBe('python:3.12-slim');
    expect(python.command).toEqual(['python3', '-u', 'main.py']);
    expect(python.env.HOME).toBe('/work');
  });

  it('names an unknown language and a repeated runtime', () => {
    expect(() => parseRuntimeImages('cobol/85=cobol:85')).toThrow(/unknown language "cobol"/);
    expect(() => parseRuntimeImages('python/3.12=a, python/3.12=b')).toThrow(/python\/3.12 is listed twice/);
  });

  it('accepts registry images with ports and digests', () => {
    const [r] = parseRuntimeImages('python/3.12=registry.local:5000/py@sha256:abc');
    expect(r?.image).toBe('registry.local:5000/py@sha256:abc');
  });
});
