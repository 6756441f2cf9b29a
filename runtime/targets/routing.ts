/**
 * Per-tenant routing on the cloud targets: one adapter per identity (a tenant role, a tenant
 * service account, or the component's own), each tenant routed to its identity's adapter; a
 * tenant outside the wiring is TENANT_NOT_WIRED, never another tenant's adapter.
 */
import type { Target } from '../../core/config/schema.js';
import { ClawError } from '../../core/errors.js';
import type { EnvelopeKeyring } from '../crypto/envelope.js';
import type { BlobStore, TenantKeyring } from '../ports.js';
import type { LakeWriter } from '../traces/lake.js';
import type { TraceRow } from '../traces/model.js';
import type { RunFilter, RunReader } from '../traces/runs.js';
import type { TenantWiringEntry } from './wiring.js';

export function notWired(tenantId: string, target: Target): ClawError {
  return new ClawError('TENANT_NOT_WIRED', `tenant '${tenantId}' is not in this ${target} install's runtime wiring (CLAW_TENANTS_FILE)`, {
    hint: "add the tenant to claw.yaml and run 'claw upgrade': the stack creates its key and storage and rolls the Deployments",
    details: { tenantId },
  });
}

/**
 * A tenant the process is wired for, but whose wiring names no trace lake: the gateway's
 * tenants.json carries lake coordinates where the stack gives them (with the tenant's trace
 * reader, components/k8s/runtime.ts tenantsFor); an older stack's does not.
 */
export function lakeNotWired(tenantId: string, target: Target): ClawError {
  return new ClawError('NOT_AVAILABLE', `this ${target} process's runtime wiring (CLAW_TENANTS_FILE) names no trace lake for tenant '${tenantId}'`, {
    hint: "the gateway reads a tenant's runs once its tenants.json names the tenant's lake (aws: bucket, prefix, database, workgroup; gcp: dataset) and its trace reader (traceReader); the stack writes both: run 'claw upgrade'",
    details: { tenantId },
  });
}

/**
 * One adapter per identity (a tenant role, a tenant service account, or the component's
 * own), each tenant routed to its identity's adapter.
 */
export class TenantRouter<T> {
  constructor(
    private readonly target: Target,
    private readonly byTenant: Map<string, T>,
  ) {}

  for(tenantId: string): T {
    const adapter = this.byTenant.get(tenantId);
    if (!adapter) throw notWired(tenantId, this.target);
    return adapter;
  }

  all(): T[] {
    return [...new Set(this.byTenant.values())];
  }
}

/** Builds one adapter per identity key and maps every tenant to its own. */
export async function routeByIdentity<T>(tenants: TenantWiringEntry[], identityOf: (t: TenantWiringEntry) => string | undefined, build: (identity: string | undefined) => Promise<T> | T): Promise<Map<string, T>> {
  const built = new Map<string, T>();
  const byTenant = new Map<string, T>();
  for (const t of tenants) {
    const identity = identityOf(t);
    const key = identity ?? '';
    if (!built.has(key)) built.set(key, await build(identity));
    byTenant.set(t.id, built.get(key)!);
  }
  return byTenant;
}

export class RoutedTenantKeyring implements TenantKeyring {
  constructor(readonly router: TenantRouter<EnvelopeKeyring>) {}
  async forTenant(tenantId: string) {
    return this.router.for(tenantId).forTenant(tenantId);
  }
  async createTenantKey(tenantId: string) {
    return this.router.for(tenantId).createTenantKey(tenantId);
  }
  async rotate(tenantId: string) {
    return this.router.for(tenantId).rotate(tenantId);
  }
  async destroy(tenantId: string) {
    return this.router.for(tenantId).destroy(tenantId);
  }
  /** The keyring (and so the root-key backend) serving a tenant. */
  keyringOf(tenantId: string): EnvelopeKeyring {
    return this.router.for(tenantId);
  }
}

export class RoutedBlobStore implements BlobStore {
  constructor(readonly router: TenantRouter<BlobStore>) {}
  async put(tenantId: string, key: string, body: AsyncIterable<Uint8Array> | Uint8Array) {
    return this.router.for(tenantId).put(tenantId, key, body);
  }
  async get(tenantId: string, key: string) {
    return this.router.for(tenantId).get(tenantId, key);
  }
  async delete(tenantId: string, key: string) {
    return this.router.for(tenantId).delete(tenantId, key);
  }
  async list(tenantId: string, prefix?: string) {
    return this.router.for(tenantId).list(tenantId, prefix);
  }
  storeOf(tenantId: string): BlobStore {
    return this.router.for(tenantId);
  }
}

export class RoutedLakeWriter implements LakeWriter {
  constructor(readonly router: TenantRouter<LakeWriter>) {}
  async writeSegment(tenantId: string, segmentId: string, rows: TraceRow[]) {
    return this.router.for(tenantId).writeSegment(tenantId, segmentId, rows);
  }
  async close() {
    await Promise.all(this.router.all().map((lake) => lake.close?.()));
  }
  lakeOf(tenantId: string): LakeWriter {
    return this.router.for(tenantId);
  }
}

export class RoutedRunReader implements RunReader {
  constructor(readonly router: TenantRouter<RunReader>) {}
  async list(tenantId: string, filter: RunFilter) {
    return this.router.for(tenantId).list(tenantId, filter);
  }
  async show(tenantId: string, runId: string, decrypt: boolean) {
    return this.router.for(tenantId).show(tenantId, runId, decrypt);
  }
}

/** Each tenant's root key reference, by tenant id. */
export const keysOf = (tenants: TenantWiringEntry[]) => Object.fromEntries(tenants.map((t) => [t.id, t.keyRef]));

/** A per-tenant view of the wiring (a bucket, a lake): TENANT_NOT_WIRED for a tenant outside it. */
export function wiredLookup<T>(tenants: TenantWiringEntry[], target: Target, view: (t: TenantWiringEntry) => T): (tenantId: string) => T {
  const byId = new Map(tenants.map((t) => [t.id, t]));
  return (tenantId) => {
    const t = byId.get(tenantId);
    if (!t) throw notWired(tenantId, target);
    return view(t);
  };
}
