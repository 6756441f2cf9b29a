/**
 * The scrubber: removes secret values from anything that goes back to the model or into
 * a trace or log (DESIGN.md invariant 3). A tool that prints its credential plainly, in
 * base64 (standard or URL-safe, padded or not, also inside a longer base64 string such as
 * a Basic auth header), in hex, URL-encoded or JSON-escaped, has every form replaced by
 * `[REDACTED:<secret name>]`.
 *
 * Scrubbing is best effort, not a boundary: a tool that holds a secret can transform it
 * (reverse, split, upper-case, double-base64) and the output gets past. Keep secrets out of
 * tools where possible (broker-side injection, e.g. an egress proxy adding the header).
 */

export interface ScrubSecret {
  name: string;
  value: string;
}

/** Secrets shorter than this are scrubbed in plain form only (encoded forms would erase innocent text). */
const MIN_ENCODED_LENGTH = 6;
/** A base64 core shorter than this inside a longer string is not matched (false positives). */
const MIN_BASE64_CORE = 8;

const b64 = (bytes: Buffer) => bytes.toString('base64');
const b64url = (bytes: Buffer) => bytes.toString('base64url');

/** Every textual form a secret may take in output. Longest first, so replacement is greedy. */
export function secretForms(value: string): string[] {
  const forms = new Set<string>([value]);
  if (value.length >= MIN_ENCODED_LENGTH) {
    const bytes = Buffer.from(value, 'utf8');
    const padded = b64(bytes);
    forms.add(padded);
    forms.add(padded.replace(/=+$/, ''));
    forms.add(b64url(bytes));
    forms.add(bytes.toString('hex'));
    forms.add(bytes.toString('hex').toUpperCase());
    forms.add(encodeURIComponent(value));
    forms.add(encodeURIComponent(value).replace(/%20/g, '+'));
    forms.add(escape(value));
    forms.add(JSON.stringify(value).slice(1, -1));
    // Inside a longer base64 string the secret starts at byte offset 0, 1 or 2 mod 3; the
    // characters that depend only on the secret's bytes are a stable core for each shift.
    for (const shift of [0, 1, 2]) {
      const encoded = b64(Buffer.concat([Buffer.alloc(shift), bytes]));
      const start = shift === 0 ? 0 : Math.ceil((shift * 8) / 6);
      const fullBytes = shift + bytes.length;
      const end = Math.floor((fullBytes * 8) / 6);
      for (const core of [encoded.slice(start, end), encoded.slice(start, end).replace(/\+/g, '-').replace(/\//g, '_')]) {
        if (core.length >= MIN_BASE64_CORE) forms.add(core);
      }
    }
  }
  forms.delete('');
  return [...forms].sort((a, b) => b.length - a.length);
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export class Scrubber {
  private readonly pattern: RegExp | undefined;
  private readonly names = new Map<string, string>();

  constructor(secrets: ScrubSecret[]) {
    const all: string[] = [];
    for (const secret of secrets) {
      if (!secret.value) continue;
      for (const form of secretForms(secret.value)) {
        if (!this.names.has(form)) this.names.set(form, secret.name);
        all.push(form);
      }
    }
    all.sort((a, b) => b.length - a.length);
    this.pattern = all.length ? new RegExp(all.map(escapeRegExp).join('|'), 'g') : undefined;
  }

  /** Whether `text` contains any form of any secret. */
  leaks(text: string): boolean {
    if (!this.pattern) return false;
    this.pattern.lastIndex = 0;
    return this.pattern.test(text);
  }

  scrubText(text: string): string {
    if (!this.pattern) return text;
    return text.replace(this.pattern, (match) => `[REDACTED:${this.names.get(match) ?? 'secret'}]`);
  }

  /** Scrub every string (and object key) in a JSON-like value; returns a copy. */
  scrub<T>(value: T): T {
    if (!this.pattern) return value;
    return this.walk(value, 0) as T;
  }

  private walk(value: unknown, depth: number): unknown {
    if (typeof value === 'string') return this.scrubText(value);
    if (depth > 64 || value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((v) => this.walk(v, depth + 1));
    if (value instanceof Uint8Array) return this.scrubText(Buffer.from(value).toString('utf8'));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[this.scrubText(k)] = this.walk(v, depth + 1);
    return out;
  }
}

export const NO_SECRETS = new Scrubber([]);
