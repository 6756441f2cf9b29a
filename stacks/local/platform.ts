/**
 * Talking to a running local platform: its addresses, the metadata store, per-tenant
 * Temporal clients (with the tenant's payload codec), and registering tenants and agents.
 */
import type { Connection } from '@temporalio/client';
import type { Agent, ClawConfig, Tenant } from '../../core/config/schema.js';
import { isClawError } from '../../core/errors.js';
// The local platform's keyring, from the adapters module (which loads no cloud SDK).
import { localTenantKeyring } from '../../runtime/crypto/index.js';
import { tenantPayloadCodec } from '../../runtime/crypto/codec.js';
import type { TenantKeyring } from '../../runtime/ports.js';
import { MetadataStore } from '../../runtime/store/metadata.js';
import { connectTemporal, tenantClient, type TenantClient } from '../../runtime/temporal/connection.js';
import { databaseUrl, requireRunning } from './supervisor.js';

export interface PlatformSession {
  keyring: TenantKeyring;
  store: MetadataStore;
  close(): Promise<void>;
}

/** The metadata store and keyring of a running local platform (PLATFORM_NOT_RUNNING otherwise). */
export async function openPlatform(stateDir: string, config: ClawConfig): Promise<PlatformSession> {
  requireRunning({ stateDir });
  return openStoreSession(stateDir, config);
}

/** The same without the running check (`claw up` registers before the worker starts). */
export async function openStoreSession(stateDir: string, config: ClawConfig): Promise<PlatformSession> {
  const keyring = localTenantKeyring(stateDir);
  const store = await MetadataStore.connect(databaseUrl(config, stateDir), { keyring, max: 2 });
  return { keyring, store, close: () => store.close() };
}

/** A tenant's Temporal client with the tenant's payload codec. */
export async function openTenantClient(connectionOrAddress: Connection | string, keyring: TenantKeyring, tenantId: string): Promise<{ tenant: TenantClient; connection: Connection }> {
  const connection = typeof connectionOrAddress === 'string' ? await connectTemporal(connectionOrAddress) : connectionOrAddress;
  const codec = tenantPayloadCodec(await keyring.forTenant(tenantId));
  return { tenant: tenantClient(connection, tenantId, { payloadCodecs: [codec] }), connection };
}

/** Register a tenant: its root key (idempotent) and its row. */
export async function registerTenant(session: PlatformSession, tenant: Pick<Tenant, 'id' | 'name'>): Promise<void> {
  await session.keyring.createTenantKey(tenant.id);
  await session.store.upsertTenant(tenant);
}

export interface SyncResult {
  tenants: string[];
  /** Tenants of claw.yaml whose key `claw tenant shred` destroyed: left unregistered, to be removed from claw.yaml. */
  shredded: string[];
  agents: { id: string; tenant: string; revision: number; changed: boolean }[];
}

/**
 * Make the store match claw.yaml: every tenant registered, every inline/referenced agent
 * applied. A shredded tenant still listed is left out (its key cannot come back) and
 * reported, so one shredded tenant does not stop the platform for the others.
 */
export async function syncConfig(session: PlatformSession, config: ClawConfig): Promise<SyncResult> {
  const tenants: string[] = [];
  const shredded: string[] = [];
  for (const tenant of config.tenants) {
    try {
      await registerTenant(session, tenant);
      tenants.push(tenant.id);
    } catch (err) {
      if (!isClawError(err) || err.code !== 'TENANT_KEY_DESTROYED') throw err;
      shredded.push(tenant.id);
    }
  }
  const agents = [];
  for (const agent of config.agents) {
    if (shredded.includes(agent.tenant)) continue;
    agents.push({ id: agent.id, tenant: agent.tenant, ...(await session.store.applyAgent(agent as Agent, 'claw.yaml')) });
  }
  return { tenants, shredded, agents };
}

/** Ask the worker to re-read claw.yaml and the store: new tenants' keys are checked, the tool runtime rebuilt, legacy queues drained. */
export async function reloadWorker(config: ClawConfig): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${config.local.workerPort}/reload`, { method: 'POST', signal: AbortSignal.timeout(30_000) });
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { error?: string };
    throw new Error(`the worker could not reload: ${body.error ?? response.status}`);
  }
}
