import { describe, expect, it } from 'vitest';
import { CredentialBroker } from './broker.js';
import { memorySecretStore } from './testing.js';

describe('CredentialBroker', () => {
  const store = memorySecretStore({ acme: { GH: 'acme-gh-token-123', EXTRA: 'acme-extra-456' }, globex: { GH: 'globex-gh-token-789' } });
  const broker = new CredentialBroker(store);

  it("reads the tool's secrets from its own tenant only and builds its headers", async () => {
    const lease = await broker.lease('acme', { name: 'github.issues', secrets: ['EXTRA'], secretHeaders: { Authorization: 'GH' } });
    expect(lease.headers).toEqual({ Authorization: 'acme-gh-token-123' });
    expect(lease.values).toEqual({ GH: 'acme-gh-token-123', EXTRA: 'acme-extra-456' });
    expect(lease.scrubber.scrubText('x acme-gh-token-123 y')).toBe('x [REDACTED:GH] y');
    expect(store.reads.every((r) => r.startsWith('acme/'))).toBe(true);
  });

  it('fails before the tool runs when a secret is missing, naming it but no value', async () => {
    const err = await broker.lease('globex', { name: 'github.issues', secrets: ['EXTRA'], secretHeaders: { Authorization: 'GH' } }).catch((e) => e);
    expect(err.code).toBe('SECRET_MISSING');
    expect(err.message).toBe('tool github.issues needs secret(s) EXTRA, which tenant globex does not have');
    expect(err.hint).toBe('set it: claw secrets set --tenant globex EXTRA');
    expect(JSON.stringify(err)).not.toContain('globex-gh-token-789');
  });
});
