import { describe, expect, it } from 'vitest';
import { Scrubber, secretForms } from './scrub.js';

const TOKEN = 'ghp_Z3rT9vQ2x/Lm+8sd&k=1';
const scrubber = new Scrubber([{ name: 'GITHUB_TOKEN', value: TOKEN }]);

describe('Scrubber', () => {
  const forms: Record<string, string> = {
    plain: TOKEN,
    base64: Buffer.from(TOKEN).toString('base64'),
    'base64 unpadded': Buffer.from(TOKEN).toString('base64').replace(/=+$/, ''),
    base64url: Buffer.from(TOKEN).toString('base64url'),
    hex: Buffer.from(TOKEN).toString('hex'),
    HEX: Buffer.from(TOKEN).toString('hex').toUpperCase(),
    'url-encoded': encodeURIComponent(TOKEN),
    'form-encoded': encodeURIComponent(TOKEN).replace(/%20/g, '+'),
    'json-escaped': JSON.stringify(TOKEN).slice(1, -1),
  };
  for (const [name, form] of Object.entries(forms)) {
    it(`removes the ${name} form from text and nested values`, () => {
      const out = scrubber.scrub({ note: `token=${form};`, list: [form], [form]: 1 });
      expect(JSON.stringify(out)).not.toContain(form);
      expect(out.note).toBe('token=[REDACTED:GITHUB_TOKEN];');
    });
  }

  it('finds the secret inside a longer base64 string at every byte offset (e.g. Basic auth)', () => {
    for (const prefix of ['', 'u', 'us', 'user:', 'user1:']) {
      const basic = Buffer.from(`${prefix}${TOKEN}trailing`).toString('base64');
      expect(scrubber.leaks(basic), prefix).toBe(true);
      expect(scrubber.scrubText(`Authorization: Basic ${basic}`)).toContain('[REDACTED:GITHUB_TOKEN]');
    }
  });

  it('leaves text without secrets untouched and does not match innocent text', () => {
    const text = 'the quick brown fox 0123456789abcdef ghp_ is a prefix';
    expect(scrubber.scrubText(text)).toBe(text);
    expect(new Scrubber([]).scrub({ a: TOKEN })).toEqual({ a: TOKEN });
  });

  it('scrubs several secrets, naming each', () => {
    const s = new Scrubber([{ name: 'A', value: 'alpha-secret-1' }, { name: 'B', value: 'bravo-secret-2' }]);
    expect(s.scrubText('alpha-secret-1 and bravo-secret-2')).toBe('[REDACTED:A] and [REDACTED:B]');
  });

  it('scrubs short secrets in plain form only', () => {
    expect(secretForms('abc')).toEqual(['abc']);
  });
});
