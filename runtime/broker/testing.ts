/** Test support: an in-memory SecretStore (tests only; DATA's runtime/secrets are the real stores). */
import type { SecretStore } from '../ports.js';

/** A SecretStore over a Map: the real stores (DATA's runtime/secrets) implement the same port. */
export function memorySecretStore(initial: Record<string, Record<string, string>> = {}): SecretStore & { reads: string[] } {
  const data = new Map(Object.entries(initial).map(([t, s]) => [t, new Map(Object.entries(s))]));
  const reads: string[] = [];
  return {
    reads,
    async get(tenantId, name) {
      reads.push(`${tenantId}/${name}`);
      return data.get(tenantId)?.get(name);
    },
    async set(tenantId, name, value) {
      if (!data.has(tenantId)) data.set(tenantId, new Map());
      data.get(tenantId)!.set(name, value);
    },
    async list(tenantId) {
      return [...(data.get(tenantId)?.keys() ?? [])];
    },
    async remove(tenantId, name) {
      return data.get(tenantId)?.delete(name) ?? false;
    },
  };
}
