import { describe, expect, it } from 'vitest';
import { OutputCap } from './output-cap.js';

describe('OutputCap', () => {
  it('when output stays under the cap, then every chunk passes and is kept per stream', () => {
    const cap = new OutputCap(10);
    expect(cap.accept('stdout', Buffer.from('abc')).pass?.toString()).toBe('abc');
    expect(cap.accept('stderr', Buffer.from('de')).pass?.toString()).toBe('de');
    expect(cap.collected('stdout').toString()).toBe('abc');
    expect(cap.collected('stderr').toString()).toBe('de');
    expect(cap.truncated).toBe(false);
  });

  it('when a chunk crosses the cap, then it is cut at exactly the cap and later chunks are dropped', () => {
    const cap = new OutputCap(5);
    cap.accept('stdout', Buffer.from('abc'));
    const crossing = cap.accept('stderr', Buffer.from('defgh'));
    expect(crossing.pass?.toString()).toBe('de');
    expect(crossing.crossed).toBe(true);
    expect(cap.accept('stdout', Buffer.from('x'))).toEqual({ pass: null, crossed: false });
    expect(cap.collected('stdout').length + cap.collected('stderr').length).toBe(5);
    expect(cap.truncated).toBe(true);
  });

  it('when output is exactly the cap, then nothing is truncated', () => {
    const cap = new OutputCap(3);
    expect(cap.accept('stdout', Buffer.from('abc')).crossed).toBe(false);
    expect(cap.truncated).toBe(false);
  });

  it('when the cap is reached exactly and one more byte comes, then it is crossed with nothing passed', () => {
    const cap = new OutputCap(3);
    cap.accept('stdout', Buffer.from('abc'));
    expect(cap.accept('stdout', Buffer.from('d'))).toEqual({ pass: null, crossed: true });
    expect(cap.truncated).toBe(true);
  });

  it('when bytes are not UTF-8, then they are kept byte-exact', () => {
    const cap = new OutputCap(100);
    const bytes = Buffer.from([0xff, 0x00, 0xc3, 0x28, 0x80]);
    cap.accept('stdout', bytes);
    expect(cap.collected('stdout').equals(bytes)).toBe(true);
  });
});
