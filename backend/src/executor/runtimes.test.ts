import { describe, expect, it } from 'vitest';
import { parseVersion, underSystemDirs } from './runtimes.js';

describe('parseVersion', () => {
  it.each([
    ['python', 'Python 3.11.2', '3.11', '3.11.2'],
    ['node', 'v20.20.2', '20', '20.20.2'],
    ['bash', 'GNU bash, version 5.2.15(1)-release (x86_64-pc-linux-gnu)', '5.2', '5.2.15'],
    ['go', 'go version go1.26.8 linux/amd64', '1.26', '1.26.8'],
    ['ruby', 'ruby 3.1.2p20 (2022-04-12 revision 4491bb740a) [x86_64-linux-gnu]', '3.1', '3.1.2'],
  ])('when %s prints %j, then the key is %s', (lang, text, version, fullVersion) => {
    expect(parseVersion(lang, text)).toEqual({ version, fullVersion });
  });

  it('when the text has no version, then null', () => {
    expect(parseVersion('python', 'command not found')).toBeNull();
    expect(parseVersion('cobol', 'v1.2')).toBeNull();
  });
});

describe('underSystemDirs', () => {
  it('when a path is in /usr, then it needs no extra bind; /root and /usrx do', () => {
    expect(underSystemDirs('/usr/bin/python3.11')).toBe(true);
    expect(underSystemDirs('/root/.pyenv/versions/3.12.1/bin/python3.12')).toBe(false);
    expect(underSystemDirs('/usrx/bin/node')).toBe(false);
  });
});
