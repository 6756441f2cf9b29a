/**
 * The composition root (DESIGN.md invariant 5): one place per target turns a process's
 * wiring into its ports, so workflows, activities and the three processes' main.ts never
 * name an adapter. Each main.ts asks `openTarget` for its ports and nothing else chooses.
 *
 *   port            local                      aws                                   gcp
 *   tenantKeyring   <state>/keys               AWS KMS, the tenant's keyRef          Cloud KMS, the tenant's keyRef
 *   blobStore       <state>/blobs/<tenant>/    S3 bucket/prefix, SSE-KMS keyRef      GCS bucket/prefix, CMEK keyRef
 *   lakeWriter      Parquet under <state>/lake S3 + Glue Iceberg + Athena            BigQuery dataset
 *   runReader       DuckDB over <state>/lake   Athena, the tenant's workgroup          BigQuery, the tenant's dataset
 *   (gateway)       (and the WAL)              and Glue database                       (jobs.query)
 *   secrets         the metadata DB            OpenBao (Kubernetes auth) when        same as aws
 *                                              OPENBAO_ADDR is wired, else the DB
 *   program tools   bubblewrap                 pods in the gVisor pool               same as aws
 *   traceExporters  OTLP/HTTP when observability.otlp.endpoint is set (every target)
 *
 * The metadata store and the Temporal connection are the same on every target (Postgres
 * and a Temporal frontend, addressed by the wiring): runtime/process-config.ts reads them.
 *
 * Cloud SDKs and adapters are imported only when a cloud target asks for them, so the local
 * target (and the CLI) never load them.
 */
import { lookup } from 'node:dns/promises';
import type { ClosableSecretStore } from '../secrets/index.js';
import type { OtlpTraceExporter } from '../traces/otlp.js';
import { localPorts } from './local.js';
import type { BuiltPorts, PortsSummary, ProgramSandbox, TargetPorts } from './ports.js';
import { resolveWiring, type RuntimeWiring, type TargetInputs } from './wiring.js';

export { resolveWiring, type RuntimeComponent, type RuntimeWiring, type TargetInputs, type TenantWiringEntry } from './wiring.js';
export { impersonatedToken, tenantRoleCredentials, IAM_CREDENTIALS_URL } from './identities.js';
export { RoutedBlobStore, RoutedLakeWriter, RoutedRunReader, RoutedTenantKeyring } from './routing.js';
export type { PortsSummary, ProgramSandbox, TargetPorts } from './ports.js';

/** Build the ports of `inputs.component` on its target (see the file comment). */
export async function openTarget(inputs: TargetInputs): Promise<TargetPorts> {
  const wiring = resolveWiring(inputs);
  const built = await buildPorts(wiring);
  const worker = wiring.component === 'worker';
  const programSandbox = worker && wiring.sandbox ? await kubernetesSandbox(wiring.sandbox) : undefined;
  const traceExporters = worker ? await otlpExporters(wiring, inputs) : [];
  const summary: PortsSummary = {
    target: wiring.target,
    component: wiring.component,
    ...built.summary,
    secretStore: wiring.secrets.kind === 'openbao'
      ? { kind: 'openbao', address: wiring.secrets.address, authRole: wiring.secrets.authRole, kvMount: wiring.secrets.kvMount }
      : { kind: 'database' },
    ...(worker ? { programSandbox: wiring.sandbox ? { kind: 'kubernetes' as const, ...wiring.sandbox } : { kind: 'bubblewrap' as const } } : {}),
    ...(worker && wiring.otlp
      ? {
          otlp: {
            endpoint: wiring.otlp.endpoint,
            headerNames: Object.keys(wiring.otlp.headers).sort(),
            contentTenants: (inputs.config?.tenants ?? []).filter((t) => t.otlpContent).map((t) => t.id),
          },
        }
      : {}),
  };
  return {
    target: wiring.target,
    tenantKeyring: built.tenantKeyring,
    ...(worker ? { blobStore: built.blobStore, lakeWriter: built.lakeWriter } : {}),
    ...(wiring.component === 'gateway' && built.runReader ? { runReader: built.runReader } : {}),
    traceExporters,
    ...(programSandbox ? { programSandbox } : {}),
    openSecretStore: (databaseUrl) => openSecretStore(wiring, built, databaseUrl),
    describe: () => structuredClone(summary),
  };
}

async function buildPorts(w: RuntimeWiring): Promise<BuiltPorts> {
  switch (w.target) {
    case 'local':
      return localPorts(w);
    case 'aws':
      return (await import('./aws.js')).awsPorts(w);
    case 'gcp':
      return (await import('./gcp.js')).gcpPorts(w);
  }
}

async function openSecretStore(w: RuntimeWiring, built: BuiltPorts, databaseUrl: string): Promise<ClosableSecretStore> {
  const { DbSecretStore, VaultSecretStore } = await import('../secrets/index.js');
  if (w.secrets.kind === 'database') return DbSecretStore.open(databaseUrl, built.tenantKeyring);
  return new VaultSecretStore({
    address: w.secrets.address,
    auth: { kind: 'kubernetes', role: w.secrets.authRole, mount: w.secrets.authMount },
    layout: { kind: 'path', mount: w.secrets.kvMount },
    keyring: built.tenantKeyring,
  });
}

/** Program tools as pods (runtime/sandbox/kubernetes.ts), with the pod's own in-cluster credentials. */
async function kubernetesSandbox(sandbox: NonNullable<RuntimeWiring['sandbox']>): Promise<ProgramSandbox> {
  const [{ KubeConfig }, { KubernetesSandbox }] = await Promise.all([import('@kubernetes/client-node'), import('../sandbox/kubernetes.js')]);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromCluster();
  return {
    sandbox: new KubernetesSandbox({ kubeConfig, namespace: sandbox.namespace }),
    image: sandbox.image,
    // A tool's allowed hosts become the /32s (/128s) its pod's NetworkPolicy lets out (kubernetes.ts egressCidrs).
    resolve: async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address),
  };
}

async function otlpExporters(w: RuntimeWiring, inputs: TargetInputs): Promise<OtlpTraceExporter[]> {
  if (!w.otlp) return [];
  const current = inputs.currentConfig ?? (() => inputs.config);
  const optedIn = (tenantId: string) => current()?.tenants.find((t) => t.id === tenantId)?.otlpContent === true;
  const { OtlpTraceExporter } = await import('../traces/otlp.js');
  return [
    new OtlpTraceExporter({
      url: w.otlp.endpoint,
      ...(Object.keys(w.otlp.headers).length > 0 ? { headers: w.otlp.headers } : {}),
      contentFor: optedIn,
      resource: { 'claw.target': w.target, ...(w.install ? { 'claw.install': w.install } : {}) },
      ...(inputs.otlpSpanExporter ? { exporter: inputs.otlpSpanExporter } : {}),
    }),
  ];
}
