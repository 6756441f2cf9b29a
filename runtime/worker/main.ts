/**
 * The worker process (local target; the same code runs in the cloud images). It runs one
 * Temporal Worker on the shared task queue for every tenant (runtime-worker.ts), plus one
 * per legacy per-tenant queue that still has runs to finish, and answers on CLAW_HOST
 * (default 127.0.0.1):CLAW_PORT:
 *   GET  /healthz  200 once the Workers poll (503 before), with the tenants whose key
 *                  opens and those whose key does not
 *   POST /reload   re-reads claw.yaml and the store's tenants, checks new tenants' keys,
 *                  rebuilds the tool runtime (tools, Cedar policies)
 * Contract (contracts/wiring.ts, read by runtime/process-config.ts): env CLAW_STATE_DIR,
 * CLAW_CONFIG, TEMPORAL_ADDRESS (+ TEMPORAL_NAMESPACE), CLAW_PORT, DATABASE_URL or CLAW_DB_*;
 * on a cloud target also CLAW_TARGET, CLAW_TENANTS_FILE, OPENBAO_* and CLAW_SANDBOX_*
 * (components/k8s/runtime.ts), from which its target (runtime/targets) builds every port.
 */
import { createServer } from 'node:http';
import { join } from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { Client } from '@temporalio/client';
import { loadConfig } from '../../core/config/load.js';
import type { ClawConfig } from '../../core/config/schema.js';
import { isClawError } from '../../core/errors.js';
import { createActivities } from '../activities/index.js';
import { modelToolCatalog } from '../activities/builtin-tools.js';
import { ReplyOutbox } from '../activities/outbox.js';
import { channelSender } from '../channels/outbound.js';
import { readProcessConfig } from '../process-config.js';
import { openTarget } from '../targets/index.js';
import { cedarEngine } from '../authz/cedar-engine.js';
import { AuditLog } from '../audit/log.js';
import { AuditArchiver } from '../audit/archive.js';
import { MetadataStore } from '../store/metadata.js';
import { workflowBundle } from '../temporal/bundle.js';
import { temporalDialOptions } from '../temporal/connection.js';
import { openTraceWriter } from '../traces/writer.js';
import { RuntimeWorker } from './runtime-worker.js';
import { WorkerToolRuntime } from './tool-runtime.js';

// Env and files (contracts/wiring.ts): one line and exit 2 on a bad wiring.
const processConfig = (() => {
  try {
    return readProcessConfig('worker');
  } catch (err) {
    console.error(`worker: ${isClawError(err) ? err.toLine() : (err as Error).message}`);
    process.exit(2);
  }
})();
const { stateDir, host, port } = processConfig;
const configFile = processConfig.configFile!;
const temporal = processConfig.temporal!;
const databaseUrl = processConfig.databaseUrl!;

let config: ClawConfig = processConfig.config!;

// Every port from the target (runtime/targets): keys, blobs, lake, secrets, program sandbox, OTLP.
const ports = await openTarget({ component: 'worker', stateDir, config, currentConfig: () => config }).catch((err: unknown) => {
  console.error(`worker: ${isClawError(err) ? err.toLine() : (err as Error).message}`);
  process.exit(2);
});
const keyring = ports.tenantKeyring;
{
  const d = ports.describe();
  console.log(`worker: target ${d.target}: keys ${d.tenantKeyring.kind}, blobs ${d.blobStore?.kind}, lake ${d.lakeWriter?.kind}, secrets ${d.secretStore.kind}, program tools ${d.programSandbox?.kind}${d.otlp ? `, OTLP to ${new URL(d.otlp.endpoint).host}` : ''}`);
}
// Which Cedar build decides tool calls (CLAW_CEDAR_ENGINE; runtime/authz/cedar-engine.ts): said once, refused at start if unusable.
try {
  console.log(`worker: Cedar engine ${cedarEngine().kind}`);
} catch (err) {
  console.error(`worker: ${isClawError(err) ? err.toLine() : (err as Error).message}`);
  process.exit(2);
}
const store = await MetadataStore.connect(databaseUrl, { keyring });
const secrets = await ports.openSecretStore(databaseUrl);
const outbox = await ReplyOutbox.connect(databaseUrl);
// Every tool call: Cedar (claw.yaml grants + the tenants' policy files) → approval → broker → sandbox → scrub.
const tools = await WorkerToolRuntime.create({ config, configFile, store, secrets, ...(ports.programSandbox ? { programSandbox: ports.programSandbox } : {}) });
// The run traces: sealed under the tenant key, durable in the WAL on emit, landed in the target's lake.
const traces = await openTraceWriter({
  stateDir,
  keyring,
  lake: ports.lakeWriter!,
  exporters: ports.traceExporters,
  onFlushError: (err) => console.error(`worker: trace segments not landed yet (kept in the WAL, retried): ${(err as Error).message.split('\n')[0]}`),
});
const activities = createActivities({
  store,
  secrets,
  toolCall: tools.toolCall,
  toolCatalog: () => modelToolCatalog(config),
  traces,
  outbox,
  channels: channelSender({ secrets }),
});

const bundle = await workflowBundle(join(stateDir, 'cache'));
console.log(`worker: workflow bundle ${bundle.built ? 'built' : 'from cache'} (${bundle.path ?? 'not cached'})`);
const connection = await NativeConnection.connect(temporalDialOptions(temporal.address, temporal.apiKey));
const workers = new RuntimeWorker({
  connection,
  namespace: temporal.namespace,
  workflowBundle: { code: bundle.code },
  activities,
  // Each payload is opened and sealed with the key of the tenant owning its workflow.
  keyring,
  onFatal: (taskQueue, err) => {
    console.error(`worker: the Worker on ${taskQueue} stopped: ${(err as Error).message}`);
    process.exit(1);
  },
  onUnavailable: (tenantId, reason) => console.error(`worker: tenant ${tenantId} cannot run here (${reason.code ?? 'error'}): ${reason.message}`),
});
// Visibility (which legacy per-tenant queues still have runs) over the Worker's own connection.
const visibility = new Client({ connection, namespace: temporal.namespace });
const DRAIN_CHECK_MS = 5 * 60_000;

async function drainLegacy(): Promise<void> {
  const before = workers.draining().join(',');
  const draining = await workers.drainLegacy(visibility).catch((err: unknown) => {
    console.error(`worker: could not list runs on legacy per-tenant queues (checked again later): ${(err as Error).message.split('\n')[0]}`);
    return workers.draining();
  });
  if (draining.join(',') !== before) console.log(`worker: draining legacy queues: ${draining.length > 0 ? draining.join(', ') : 'none left'}`);
}

async function tenantIds(): Promise<string[]> {
  const ids = new Set(config.tenants.map((t) => t.id));
  for (const t of await store.listTenants()) ids.add(t.id);
  return [...ids];
}

async function ensureWorkers(): Promise<string[]> {
  const started = await workers.ensure(await tenantIds());
  if (started.length > 0) console.log(`worker: polling ${workers.taskQueue} for ${started.length <= 10 ? `tenants ${started.join(', ')}` : `${started.length} tenants`}`);
  return started;
}

/**
 * claw.yaml again: the tool runtime (tools, Cedar policies) is rebuilt, new tenants get
 * Workers. Policies that do not validate leave the running ones (and the old claw.yaml's
 * tools) in force; new tenants still get their Workers, and the error is the answer.
 */
async function reload(): Promise<string[]> {
  const next = loadConfig(configFile);
  let invalid: unknown;
  try {
    await tools.rebuild(next);
    config = next;
  } catch (err) {
    invalid = err;
  }
  const started = await ensureWorkers();
  await drainLegacy();
  if (invalid) throw invalid;
  return started;
}

await ensureWorkers();
await drainLegacy();
const drainTimer = setInterval(() => void drainLegacy(), DRAIN_CHECK_MS);
drainTimer.unref();

// The tenants' audit logs land in their own storage (runtime/audit/archive.ts): every
// CLAW_AUDIT_ARCHIVE_MS (default a minute) and on shutdown. A tenant that cannot be
// archived (its key shredded) is reported once per reason, not every time.
const auditLog = await AuditLog.open(databaseUrl, keyring);
const archiver = new AuditArchiver(auditLog, ports.blobStore!);
const reported = new Set<string>();
let archiving: Promise<unknown> = Promise.resolve();
const archiveAudit = () =>
  (archiving = archiving.then(() =>
    archiver
      .archiveAll(
        (tenant, err) => {
          const why = isClawError(err) ? err.code : (err as Error).message.split('\n')[0]!;
          if (!reported.has(`${tenant}:${why}`)) console.error(`worker: the audit log of ${tenant} was not archived: ${why}`);
          reported.add(`${tenant}:${why}`);
        },
        (tenant) => config.tenants.some((t) => t.id === tenant),
      )
      .catch((err: unknown) => console.error(`worker: audit archive: ${(err as Error).message.split('\n')[0]}`)),
  ));
const archiveTimer = setInterval(() => void archiveAudit(), Number(process.env.CLAW_AUDIT_ARCHIVE_MS ?? 60_000));
archiveTimer.unref();

const server = createServer((req, res) => {
  const reply = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.method === 'GET' && req.url === '/healthz') {
    const ok = workers.healthy();
    reply(ok ? 200 : 503, { ok, taskQueue: workers.taskQueue, draining: workers.draining(), tenants: workers.tenants(), unavailable: workers.unavailable() });
  } else if (req.method === 'POST' && req.url === '/reload') {
    reload().then(
      (started) => reply(200, { ok: true, started, tenants: workers.tenants(), unavailable: workers.unavailable() }),
      (err: unknown) => reply(500, { ok: false, error: (err as Error).message.split('\n')[0] }),
    );
  } else reply(404, { error: 'not found' });
});
server.listen(port, host, () => console.log(`worker: healthz on ${host}:${port}`));

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`worker: ${signal}, draining`);
  server.close();
  clearInterval(drainTimer);
  clearInterval(archiveTimer);
  await workers.shutdown();
  await archiveAudit();
  await auditLog.close();
  // Every acknowledged event lands in the lake before the process goes.
  await traces.close().catch((err: unknown) => console.error(`worker: traces stay in the WAL for the next start: ${(err as Error).message.split('\n')[0]}`));
  tools.close();
  await connection.close();
  await store.close();
  await outbox.close();
  await secrets.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
