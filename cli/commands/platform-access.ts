/**
 * What commands need from a running platform: which one (claw.yaml, or what `claw up`
 * recorded in the state dir), its addresses, the tenant's Temporal client (with its payload
 * codec) and the tenant's secrets.
 *
 * Addresses: TEMPORAL_ADDRESS / DATABASE_URL when set (CI, cloud port-forwards) override;
 * otherwise the local platform running from --state-dir, found with no env vars.
 */
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../../core/config/load.js';
import type { ClawConfig } from '../../core/config/schema.js';
import { ClawError } from '../../core/errors.js';
import { readPlatformRecord } from '../../stacks/local/state.js';
import { databaseUrl, runningPid } from '../../stacks/local/supervisor.js';
import { localTenantKeyring } from '../../runtime/crypto/index.js';
import { tenantPayloadCodec } from '../../runtime/crypto/codec.js';
import { openSecretStore } from '../../runtime/secrets/index.js';
import { connectTemporal, tenantClient } from '../../runtime/temporal/connection.js';
import type { GlobalOptions } from '../context.js';

/**
 * The install a command means: claw.yaml when there is one; else, for commands that act on
 * a running local platform (down, status, logs, secrets, ...), the claw.yaml that `claw up`
 * recorded in the state dir, so `--state-dir` alone is enough.
 */
export function loadInstallConfig(global: Pick<GlobalOptions, 'stateDir' | 'config'>): ClawConfig {
  if (!existsSync(global.config)) {
    const record = readPlatformRecord(global.stateDir);
    if (record) return record.config;
  }
  return loadConfig(global.config);
}

/**
 * The metadata store's URL: --database-url, DATABASE_URL, or the running local platform's
 * store (its socket in the state dir). Undefined when none is known.
 */
export function metadataStoreUrl(global: Pick<GlobalOptions, 'stateDir' | 'config'>, explicit?: string): string | undefined {
  if (explicit) return explicit;
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  if (runningPid(global.stateDir, 'store') === undefined) return undefined;
  const config = loadInstallConfig(global);
  return config.target === 'local' ? databaseUrl(config, global.stateDir) : undefined;
}

/** The same, or PLATFORM_NOT_RUNNING saying how to start it. */
export function requireMetadataStoreUrl(global: Pick<GlobalOptions, 'stateDir' | 'config'>, explicit?: string): string {
  const url = metadataStoreUrl(global, explicit);
  if (url) return url;
  throw new ClawError('PLATFORM_NOT_RUNNING', `no local platform is running under ${global.stateDir}, so the metadata store is unknown`, {
    hint: "start it with 'claw up' (same --state-dir), or pass --database-url / set DATABASE_URL for a cloud install",
  });
}

export function temporalAddress(config: ClawConfig): string {
  return process.env.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.local.temporalPort}`;
}

export interface TenantClients {
  clientFor(tenantId: string): Promise<Client>;
  close(): Promise<void>;
}

export async function openTenantClients(global: Pick<GlobalOptions, 'stateDir'>, config: ClawConfig): Promise<TenantClients> {
  const connection: Connection = await connectTemporal(temporalAddress(config));
  const keyring = localTenantKeyring(global.stateDir);
  const known = new Set(config.tenants.map((t) => t.id));
  const clients = new Map<string, Client>();
  return {
    async clientFor(tenantId) {
      if (!known.has(tenantId)) throw new ClawError('UNKNOWN_TENANT', `no tenant '${tenantId}' in claw.yaml`, { hint: 'check --tenant' });
      let client = clients.get(tenantId);
      if (!client) {
        client = tenantClient(connection, tenantId, { payloadCodecs: [tenantPayloadCodec(await keyring.forTenant(tenantId))] }).client;
        clients.set(tenantId, client);
      }
      return client;
    },
    close: () => connection.close(),
  };
}

/** One secret of a tenant from the metadata store (the value never leaves the caller). */
export async function tenantSecret(global: Pick<GlobalOptions, 'stateDir' | 'config'>, tenantId: string, name: string): Promise<string | undefined> {
  const store = await openSecretStore({ databaseUrl: requireMetadataStoreUrl(global), keyring: localTenantKeyring(global.stateDir) });
  try {
    return await store.get(tenantId, name);
  } finally {
    await store.close();
  }
}

/**
 * Who a direct (not signed-in) command acts as, for the audit log: CLAW_USER, else the OS
 * user. Asserted, not authenticated: whoever runs it holds the platform's own credentials.
 * Signed-in commands go through the admin API, where the identity comes from the token.
 */
export function localActor(): { kind: 'user'; id: string } {
  let id = process.env.CLAW_USER;
  try {
    id ||= userInfo().username;
  } catch {
    id ||= 'unknown';
  }
  return { kind: 'user', id: id || 'unknown' };
}
