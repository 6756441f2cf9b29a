/**
 * A shared RuntimeWorker as the worker process builds it — real store, Cedar tool runtime,
 * activities, keyring codec — for tests and benches on a real Temporal dev server and
 * PostgreSQL: each tenant gets a key, a store row and the starter agent answering with a
 * scripted reply; `clientOf` is a tenant's client as claw builds it (its own codec).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { NativeConnection } from '@temporalio/worker';
import { Connection, type WorkflowHandle } from '@temporalio/client';
import { parseAgentFile, parseConfig } from '../../../core/config/load.js';
import { STARTER_AGENT } from '../../../core/config/starter.js';
import { createActivities, type Activities } from '../../activities/index.js';
import { modelToolCatalog } from '../../activities/builtin-tools.js';
import { tenantPayloadCodec } from '../../crypto/codec.js';
import { localTenantKeyring } from '../../crypto/index.js';
import { MetadataStore } from '../../store/metadata.js';
import { workflowBundle } from '../../temporal/bundle.js';
import { tenantClient, type TenantClient } from '../../temporal/connection.js';
import { runWorkflowId } from '../../temporal/names.js';
import { testSecrets } from '../../workflows/testing/harness.js';
import { RuntimeWorker, type RuntimeWorkerOptions } from '../runtime-worker.js';
import { WorkerToolRuntime } from '../tool-runtime.js';

export interface SharedWorkerOptions {
  temporalAddress: string;
  postgresUrl: string;
  tenants: string[];
  /** The queue (default: a fresh `test-…` one, so suites sharing a dev server stay apart). */
  taskQueue?: string;
  /** Wrap the real activities (a slow model, a hook). */
  wrap?: (base: Activities) => Activities;
  /** The scripted reply of a tenant's agent. */
  reply?: (tenantId: string) => string;
  worker?: Partial<Pick<RuntimeWorkerOptions, 'maxConcurrentActivities' | 'onUnavailable' | 'onFatal'>>;
}

export interface SharedWorker {
  keyring: ReturnType<typeof localTenantKeyring>;
  store: MetadataStore;
  workers: RuntimeWorker;
  activities: Activities;
  bundle: { code: string };
  nativeConnection: NativeConnection;
  connection: Connection;
  taskQueue: string;
  /** A tenant's client with its own codec, on `queue` (default this worker's) and `namespace`. */
  clientOf(tenantId: string, queue?: string, namespace?: string): Promise<TenantClient>;
  /** Start one run of the tenant's `helper` agent. */
  startRun(client: TenantClient, runId?: string): Promise<WorkflowHandle>;
  close(): Promise<void>;
}

export async function startSharedWorker(options: SharedWorkerOptions): Promise<SharedWorker> {
  const stateDir = mkdtempSync(join(tmpdir(), 'claw-shared-worker-'));
  const keyring = localTenantKeyring(stateDir);
  const store = await MetadataStore.connect(options.postgresUrl, { keyring });
  const starter = parseAgentFile(STARTER_AGENT, 'helper.yaml');
  for (const id of options.tenants) {
    await keyring.createTenantKey(id);
    await store.upsertTenant({ id, name: id });
    await store.applyAgent({ ...starter, tenant: id, model: { provider: 'scripted', script: [{ reply: options.reply?.(id) ?? 'ok' }] } });
  }
  const configFile = join(stateDir, 'claw.yaml');
  const config = parseConfig(`tenants: [${options.tenants.map((id) => `{ id: ${id}, name: ${id} }`).join(', ')}]\n`, configFile);
  const secrets = testSecrets();
  const tools = await WorkerToolRuntime.create({ config, configFile, store, secrets, isolatePoolSize: 1 });
  const base = createActivities({ store, secrets, toolCall: tools.toolCall, toolCatalog: () => modelToolCatalog(config) });
  const activities = options.wrap?.(base) ?? base;
  const nativeConnection = await NativeConnection.connect({ address: options.temporalAddress });
  const connection = await Connection.connect({ address: options.temporalAddress });
  const bundle = await workflowBundle(join(stateDir, 'cache'));
  const taskQueue = options.taskQueue ?? `test-${randomBytes(4).toString('hex')}`;
  const workers = new RuntimeWorker({ connection: nativeConnection, taskQueue, workflowBundle: bundle, activities, keyring, ...options.worker });
  await workers.ensure(options.tenants);
  return {
    keyring, store, workers, activities, bundle, nativeConnection, connection, taskQueue,
    async clientOf(tenantId, queue = taskQueue, namespace) {
      return tenantClient(connection, tenantId, { taskQueue: queue, namespace, payloadCodecs: [tenantPayloadCodec(await keyring.forTenant(tenantId))] });
    },
    startRun(client, runId = `r-${randomBytes(5).toString('hex')}`) {
      return client.client.workflow.start('agentRun', {
        ...client.route, workflowId: runWorkflowId(client.tenantId, runId), args: [{ tenantId: client.tenantId, agentId: 'helper', runId, message: 'hello' }],
      });
    },
    async close() {
      await workers.shutdown();
      tools.close();
      await nativeConnection.close();
      await connection.close();
      await store.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
