/**
 * What RUNTIME's commands (events, approve, deny, schedules) need from a running platform:
 * the tenant's Temporal client (with its payload codec) and the tenant's secrets.
 *
 * Addresses: TEMPORAL_ADDRESS / DATABASE_URL when set (CI, cloud port-forwards), else the
 * local target's ports from claw.yaml.
 */
import type { Client, Connection } from '@temporalio/client';
import type { ClawConfig } from '../../core/config/schema.js';
import { ClawError } from '../../core/errors.js';
import { localTenantKeyring } from '../../runtime/crypto/index.js';
import { tenantPayloadCodec } from '../../runtime/crypto/codec.js';
import { openSecretStore } from '../../runtime/secrets/index.js';
import { connectTemporal, tenantClient } from '../../runtime/temporal/connection.js';
import type { GlobalOptions } from '../context.js';

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
export async function tenantSecret(global: Pick<GlobalOptions, 'stateDir'>, tenantId: string, name: string): Promise<string | undefined> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    throw new ClawError('PLATFORM_NOT_RUNNING', 'the secret store address is unknown (DATABASE_URL is not set)', {
      hint: "start the platform with 'claw up', or pass --secret-env <VAR> to sign with a secret from the environment",
    });
  }
  const store = await openSecretStore({ databaseUrl, keyring: localTenantKeyring(global.stateDir) });
  try {
    return await store.get(tenantId, name);
  } finally {
    await store.close();
  }
}
