/**
 * The worker process (local target; the same code runs in the cloud images). It runs one
 * Temporal Worker per tenant (tenant-workers.ts) and answers on 127.0.0.1:CLAW_PORT:
 *   GET  /healthz  200 once every tenant's Worker polls (503 before)
 *   POST /reload   re-reads claw.yaml and the store's tenants, starts Workers for new ones
 * Contract (stacks/local): env CLAW_STATE_DIR, CLAW_CONFIG, TEMPORAL_ADDRESS, CLAW_PORT, DATABASE_URL.
 */
import { createServer } from 'node:http';
import { join } from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../../core/config/load.js';
import type { ClawConfig } from '../../core/config/schema.js';
import { createActivities } from '../activities/index.js';
import { BUILTIN_TOOL_SPECS, BuiltinToolExecutor } from '../activities/builtin-tools.js';
import { GrantAuthorizer } from '../activities/grant-authorizer.js';
import { RunSteps } from '../activities/run-steps.js';
import { channelSender } from '../channels/outbound.js';
import { localTenantKeyring } from '../crypto/index.js';
import { tenantPayloadCodec } from '../crypto/codec.js';
import type { ToolSpec } from '../models/types.js';
import { openSecretStore } from '../secrets/index.js';
import { MetadataStore } from '../store/metadata.js';
import { workflowBundle } from '../temporal/bundle.js';
import { TenantWorkers } from './tenant-workers.js';

function env(name: string): string {
  const value = process.env[name];
  if (!value) {
    console.error(`worker: ${name} must be set`);
    process.exit(2);
  }
  return value;
}

const stateDir = env('CLAW_STATE_DIR');
const configFile = env('CLAW_CONFIG');
const temporalAddress = env('TEMPORAL_ADDRESS');
const databaseUrl = env('DATABASE_URL');
const port = Number(env('CLAW_PORT'));

let config: ClawConfig = loadConfig(configFile);

function toolCatalog(): Map<string, ToolSpec> {
  const specs = [...BUILTIN_TOOL_SPECS, ...config.tools.map((t) => ({ name: t.name, description: t.description, input: t.input }))];
  return new Map(specs.map((s) => [s.name, s]));
}

const keyring = localTenantKeyring(stateDir);
const store = await MetadataStore.connect(databaseUrl, { keyring });
const secrets = await openSecretStore({ databaseUrl, keyring });
// RUNTIME: per-attempt step records (retries in 'claw runs show') and replies through the channels.
const steps = await RunSteps.connect(databaseUrl);
const activities = createActivities({
  store,
  secrets,
  authorizer: new GrantAuthorizer(store),
  tools: new BuiltinToolExecutor(),
  toolCatalog,
  steps,
  channels: channelSender({ secrets }),
});

const bundle = await workflowBundle(join(stateDir, 'cache'));
console.log(`worker: workflow bundle ${bundle.built ? 'built' : 'from cache'} (${bundle.path ?? 'not cached'})`);
const connection = await NativeConnection.connect({ address: temporalAddress });
const workers = new TenantWorkers({
  connection,
  workflowBundle: { code: bundle.code },
  activities,
  // Each tenant's Worker encodes and decodes payloads with that tenant's key only.
  payloadCodecsFor: async (tenantId) => [tenantPayloadCodec(await keyring.forTenant(tenantId))],
  onFatal: (tenantId, err) => {
    console.error(`worker: tenant ${tenantId}'s Worker stopped: ${(err as Error).message}`);
    process.exit(1);
  },
});

async function tenantIds(): Promise<string[]> {
  const ids = new Set(config.tenants.map((t) => t.id));
  for (const t of await store.listTenants()) ids.add(t.id);
  return [...ids];
}

async function reload(): Promise<string[]> {
  config = loadConfig(configFile);
  const started = await workers.ensure(await tenantIds());
  if (started.length > 0) console.log(`worker: polling for tenants ${started.join(', ')}`);
  return started;
}

await reload();

const server = createServer((req, res) => {
  const reply = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.method === 'GET' && req.url === '/healthz') {
    const ok = workers.healthy();
    reply(ok ? 200 : 503, { ok, tenants: workers.tenants() });
  } else if (req.method === 'POST' && req.url === '/reload') {
    reload().then(
      (started) => reply(200, { ok: true, started, tenants: workers.tenants() }),
      (err: unknown) => reply(500, { ok: false, error: (err as Error).message.split('\n')[0] }),
    );
  } else reply(404, { error: 'not found' });
});
server.listen(port, '127.0.0.1', () => console.log(`worker: healthz on 127.0.0.1:${port}`));

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`worker: ${signal}, draining`);
  server.close();
  await workers.shutdown();
  await connection.close();
  await store.close();
  await steps.close();
  await secrets.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
