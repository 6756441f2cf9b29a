/**
 * Secret stores by configuration: the metadata database by default; OpenBao/Vault KV v2
 * when an address is given (cloud installs with OpenBao).
 */
import type { SecretStore, TenantKeyring } from '../ports.js';
import { DbSecretStore } from './db.js';
import { VaultSecretStore, type VaultOptions } from './vault.js';

export { DbSecretStore } from './db.js';
export { VaultSecretStore, type VaultOptions } from './vault.js';
export { SECRET_NAME, checkSecretName } from './names.js';

export type ClosableSecretStore = SecretStore & {
  close(): Promise<void>;
  /** Re-encrypt a tenant's secrets under its current key version; returns how many. */
  reencrypt(tenantId: string): Promise<number>;
};

export async function openSecretStore(options: { databaseUrl: string; keyring: TenantKeyring; vault?: Omit<VaultOptions, 'keyring'> }): Promise<ClosableSecretStore> {
  if (options.vault) return new VaultSecretStore({ ...options.vault, keyring: options.keyring });
  return DbSecretStore.open(options.databaseUrl, options.keyring);
}
