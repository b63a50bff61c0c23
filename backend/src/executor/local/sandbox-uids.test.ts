import { describe, expect, it } from 'vitest';
import { settingKeys } from '../../settings/schema.js';
import { DEFAULT_SANDBOX_UIDS, idsTakenInRange } from './sandbox-uids.js';
import { UidPool } from './uid-pool.js';

describe('sandbox uids', () => {
  it('when no range is given, then the executor uses the settings defaults', () => {
    expect(DEFAULT_SANDBOX_UIDS).toEqual({
      base: settingKeys.SANDBOX_UID_BASE.default,
      count: settingKeys.SANDBOX_UID_COUNT.default,
    });
  });

  it('when /etc/passwd or /etc/group gives an id of the range to someone, then it is reported', () => {
    const pool = new UidPool(200_000, 10);
    const passwd = [
      'root:x:0:0:root:/root:/bin/bash',
      'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
      'build:x:200009:100::/home/build:/bin/sh',
      'after:x:200010:200010::/:/bin/sh',
      '',
    ].join('\n');
    const group = ['root:x:0:', 'ci:x:200000:build', 'broken line', ''].join('\n');
    expect(idsTakenInRange(pool, passwd, group)).toEqual(['passwd build (200009)', 'group ci (200000)']);
    expect(idsTakenInRange(pool, 'root:x:0:0::/:/bin/sh\n', 'root:x:0:\n')).toEqual([]);
  });
});
