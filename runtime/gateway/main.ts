/**
 * The gateway process (contracts/wiring.ts): env CLAW_STATE_DIR, CLAW_CONFIG,
 * TEMPORAL_ADDRESS (+ TEMPORAL_NAMESPACE), CLAW_PORT, DATABASE_URL or CLAW_DB_*; listens on CLAW_HOST (default 127.0.0.1) and
 * answers GET /healthz once Temporal is connected; exits cleanly on SIGTERM.
 *
 * On the same port it serves the admin API (/api/v1, SCIM under /scim/v2; runtime/admin) and
 * the web console (/console/; runtime/console):
 * two Fastify instances behind one HTTP server, split by path, so the webhook ingress and
 * the admin API each keep their own body parsing, limits and error shapes.
 *
 * claw.yaml is re-read when it changes (a new tenant or channel needs no restart); a
 * change that does not validate is logged and the previous config stays in force.
 */
import { watchFile } from 'node:fs';
import { createServer } from 'node:http';
import { configSourceFiles, loadConfig } from '../../core/config/load.js';
import type { ClawConfig } from '../../core/config/schema.js';
import { isClawError } from '../../core/errors.js';
import { openTarget } from '../targets/index.js';
import { readProcessConfig } from '../process-config.js';
import { tenantPayloadCodec } from '../crypto/codec.js';
import { connectTemporal, tenantClient, type TenantClient } from '../temporal/connection.js';
import type { Client } from '@temporalio/client';
import { buildGateway } from './server.js';
import { buildAdminApi } from '../admin/server.js';
import { AuditLog } from '../audit/log.js';
import { AppliedAuthorizer } from '../admin/applied.js';
import { Identity } from '../identity/identity.js';
import { OidcVerifier } from '../identity/oidc.js';
import { IdentityStore } from '../identity/store.js';
import { LocalKeyringBackend } from '../crypto/local-keyring.js';
import { MetadataStore } from '../store/metadata.js';
import { temporalStarter } from './starter.js';

async function main(): Promise<void> {
  // Env and files (contracts/wiring.ts); a missing one is GATEWAY_ENV_MISSING naming it.
  const processConfig = readProcessConfig('gateway');
  const { stateDir, host, port } = processConfig;
  const configFile = processConfig.configFile!;
  const temporal = processConfig.temporal!;

  let config: ClawConfig = processConfig.config!;
  // The admin API's view of claw.yaml: its Cedar policies (with the tenants' applied ones,
  // from the store: set up below) and its OpenID Provider, rebuilt with it.
  let applied: AppliedAuthorizer | undefined;
  let oidc = config.access.oidc ? new OidcVerifier(config.access.oidc) : undefined;
  // claw.yaml and the agent files it references: an agent given a channel in its own file
  // (then 'claw agent apply -f') is routed without a restart.
  const watched = new Set<string>();
  const reload = () =>
    void (async () => {
      try {
        const next = loadConfig(configFile);
        await applied?.rebuild(next);
        if (JSON.stringify(next.access.oidc) !== JSON.stringify(config.access.oidc)) oidc = next.access.oidc ? new OidcVerifier(next.access.oidc) : undefined;
        config = next;
        console.log(JSON.stringify({ msg: 'config reloaded', tenants: config.tenants.length, agents: config.agents.length }));
      } catch (err) {
        console.error(JSON.stringify({ msg: 'config reload failed; keeping the previous config', code: isClawError(err) ? err.code : 'INTERNAL' }));
      }
      watchSources();
    })();
  const watchSources = () => {
    let files: string[];
    try {
      files = configSourceFiles(configFile);
    } catch {
      files = [configFile];
    }
    for (const file of files.filter((f) => !watched.has(f))) {
      watched.add(file);
      watchFile(file, { interval: 1_000 }, reload);
    }
  };
  watchSources();

  // Its ports from the target (runtime/targets): tenant keys, the secret store and the run reader.
  const ports = await openTarget({ component: 'gateway', stateDir, config });
  const keyring = ports.tenantKeyring;
  const connection = await connectTemporal(temporal.address, { ...(temporal.apiKey ? { apiKey: temporal.apiKey } : {}) });
  const secrets = await ports.openSecretStore(processConfig.databaseUrl!);

  // One client per tenant, each with that tenant's payload codec: the message text is
  // ciphertext before it leaves this process.
  const clients = new Map<string, Promise<TenantClient>>();
  const tenantClientFor = (tenantId: string): Promise<TenantClient> => {
    let client = clients.get(tenantId);
    if (!client) {
      client = keyring.forTenant(tenantId).then((crypto) => tenantClient(connection, tenantId, { namespace: temporal.namespace, payloadCodecs: [tenantPayloadCodec(crypto)] }));
      client.catch(() => clients.delete(tenantId));
      clients.set(tenantId, client);
    }
    return client;
  };
  const clientFor = async (tenantId: string): Promise<Client> => (await tenantClientFor(tenantId)).client;

  const app = await buildGateway({
    config: () => config,
    secrets,
    starter: temporalStarter(clientFor),
    logger: true,
    ready: async () => {
      const temporal = await connection
        .withDeadline(Date.now() + 1_000, () => connection.workflowService.getSystemInfo({}))
        .then(() => true, () => false);
      return { temporal };
    },
  });
  const identities = await IdentityStore.open(processConfig.databaseUrl!);
  const audit = await AuditLog.open(processConfig.databaseUrl!, keyring);
  const metadata = await MetadataStore.connect(processConfig.databaseUrl!, { keyring, max: 2 });
  applied = await AppliedAuthorizer.open(metadata, config, configFile, (line) => console.error(JSON.stringify({ msg: line })));
  const admin = await buildAdminApi({
    config: () => config,
    configFile: () => configFile,
    ...applied.adminOptions(),
    identity: new Identity(identities, () => oidc, () => config),
    identities,
    audit,
    tenantClient: tenantClientFor,
    secrets,
    keyring,
    keyVersions: (tenantId) => {
      const backend = (keyring as { backend?: unknown }).backend;
      return backend instanceof LocalKeyringBackend ? backend.versions(tenantId) : undefined;
    },
    // Run summaries and timelines from the target's lake (runtime/targets: the local lake and
    // WAL under the state dir; Athena in the tenant's workgroup on aws; BigQuery in the
    // tenant's dataset on gcp), content opened with the tenant keyring only for decrypt.
    // A cloud tenant whose tenants.json names no lake answers NOT_AVAILABLE.
    ...(ports.runReader ? { traces: ports.runReader } : {}),
    // The Temporal Web UI's origin, for its codec endpoint (as the codec-server's).
    codecCorsOrigins: (process.env.CLAW_CODEC_CORS_ORIGINS ?? `http://127.0.0.1:${config.local.temporalUiPort},http://localhost:${config.local.temporalUiPort}`)
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    logger: true,
    console: true,
  });
  await Promise.all([app.ready(), admin.ready()]);
  const isAdmin = (url: string | undefined) => /^\/(api|scim)\/|^\/console(\/|$|\?)/.test(url ?? '');
  const server = createServer((req, res) => (isAdmin(req.url) ? admin.routing(req, res) : app.routing(req, res)));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  console.log(JSON.stringify({ msg: 'gateway listening', host, port, adminApi: '/api/v1', scim: '/scim/v2', console: '/console/' }));

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    // Stop taking requests, let in-flight deliveries finish, then close the clients.
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.allSettled([app.close(), admin.close()]);
    await Promise.allSettled([secrets.close(), connection.close(), identities.close(), audit.close(), metadata.close()]);
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  const line = isClawError(err) ? err.toLine() : err instanceof Error ? err.message : String(err);
  console.error(`gateway failed to start: ${line}`);
  process.exit(1);
});
