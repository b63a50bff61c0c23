import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configurationDocPath, renderConfigurationDoc } from './docs.js';
import { secretKeys, settingKeys } from './schema.js';

describe('docs/configuration.md', () => {
  it('when compared with the schema, then it is up to date (run npm run docs:config if not)', () => {
    expect(readFileSync(configurationDocPath(), 'utf8')).toBe(renderConfigurationDoc());
  });

  it('when rendered, then it documents every key and secret', () => {
    const doc = renderConfigurationDoc();
    for (const key of [...Object.keys(settingKeys), ...Object.keys(secretKeys)]) {
      expect(doc).toContain(`| \`${key}\` |`);
    }
  });
});
