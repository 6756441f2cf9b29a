/**
 * Counts the root-key calls a backend's keyrings make (one wrap = one GenerateDataKey /
 * :encrypt / raw-AES wrap; one unwrap = one Decrypt / :decrypt), for tests and benchmarks
 * that check data-key caching. The backend itself is untouched; its keyrings are wrapped.
 */
import { KeyringNode, type EncryptedDataKey, type NodeDecryptionMaterial, type NodeEncryptionMaterial } from '@aws-crypto/material-management-node';
import type { RootKeyBackend } from '../envelope.js';

export interface RootKeyCalls {
  wrap: number;
  unwrap: number;
}

class CountingKeyring extends KeyringNode {
  constructor(
    private readonly inner: KeyringNode,
    private readonly calls: RootKeyCalls,
  ) {
    super();
  }

  async _onEncrypt(material: NodeEncryptionMaterial): Promise<NodeEncryptionMaterial> {
    this.calls.wrap++;
    return this.inner.onEncrypt(material);
  }

  async _onDecrypt(material: NodeDecryptionMaterial, edks: EncryptedDataKey[]): Promise<NodeDecryptionMaterial> {
    this.calls.unwrap++;
    return this.inner.onDecrypt(material, edks);
  }
}

/** `backend` with every keyring it hands out counted into `calls`. */
export function countingBackend(backend: RootKeyBackend, calls: RootKeyCalls = { wrap: 0, unwrap: 0 }): { backend: RootKeyBackend; calls: RootKeyCalls } {
  const wrapped = new WeakMap<KeyringNode, CountingKeyring>();
  const counted: RootKeyBackend = {
    kind: backend.kind,
    async keyring(tenantId) {
      const inner = await backend.keyring(tenantId);
      let ring = wrapped.get(inner);
      if (!ring) {
        ring = new CountingKeyring(inner, calls);
        wrapped.set(inner, ring);
      }
      return ring;
    },
    createTenantKey: (tenantId) => backend.createTenantKey(tenantId),
    rotate: (tenantId) => backend.rotate(tenantId),
    destroy: (tenantId) => backend.destroy(tenantId),
    explain: (tenantId, err, phase, edks) => backend.explain(tenantId, err, phase, edks),
    ...(backend.revalidate ? { revalidate: (tenantId: string) => backend.revalidate!(tenantId) } : {}),
  };
  return { backend: counted, calls };
}
