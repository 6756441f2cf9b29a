/**
 * Tenant keyrings by target. Everything else (codec, blobs, secrets, traces) takes a
 * `TenantKeyring` from here and never sees which root-key backend is underneath.
 */
import { EnvelopeKeyring, DEFAULT_CACHE, type CacheLimits } from './envelope.js';
import { LocalKeyringBackend } from './local-keyring.js';

export { EnvelopeKeyring, EnvelopeCrypto, inspect, encryptionContext, DEFAULT_CACHE, type CacheLimits, type RootKeyBackend } from './envelope.js';
export { LocalKeyringBackend, keyringPath } from './local-keyring.js';

/** The local target's keyring: root keys in `<stateDir>/keys/keyring.json`. */
export function localTenantKeyring(stateDir: string, limits: CacheLimits = DEFAULT_CACHE): EnvelopeKeyring {
  return new EnvelopeKeyring(new LocalKeyringBackend(stateDir), limits);
}
