/** What a target builds for a process, and the summary it logs (names and references, never a credential). */
import type { Target } from '../../core/config/schema.js';
import type { ClosableSecretStore } from '../secrets/index.js';
import type { BlobStore, TenantKeyring } from '../ports.js';
import type { ToolExecutorDeps } from '../tools/executor.js';
import type { LakeWriter } from '../traces/lake.js';
import type { OtlpTraceExporter } from '../traces/otlp.js';
import type { RunReader } from '../traces/runs.js';
import type { RuntimeComponent } from './wiring.js';

export interface PortsSummary {
  target: Target;
  component: RuntimeComponent;
  tenantKeyring:
    | { kind: 'local'; path: string }
    | { kind: 'aws-kms'; region: string; createKeys: false; install?: string; keys: Record<string, string>; identities: Record<string, string | null> }
    | { kind: 'gcp-kms'; createKeys: false; keys: Record<string, string>; identities: Record<string, string | null> };
  blobStore?:
    | { kind: 'directory'; root: string }
    | { kind: 's3'; region: string; tenants: Record<string, { bucket: string; prefix: string; kmsKeyId: string }> }
    | { kind: 'gcs'; tenants: Record<string, { bucket: string; prefix: string; kmsKeyName: string }> };
  lakeWriter?:
    | { kind: 'local'; dir: string }
    | { kind: 'aws'; region: string; tenants: Record<string, { bucket: string; prefix: string; kmsKeyArn: string; database: string; workgroup: string }> }
    | { kind: 'gcp'; tenants: Record<string, { projectId: string; datasetId: string; kmsKeyName: string }> };
  /** The gateway's: where the admin API reads runs from. */
  runReader?:
    | { kind: 'local'; dir: string }
    | { kind: 'aws'; region: string; tenants: Record<string, { database: string; workgroup: string }> }
    | { kind: 'gcp'; tenants: Record<string, { projectId: string; datasetId: string }> };
  secretStore: { kind: 'database' } | { kind: 'openbao'; address: string; authRole: string; kvMount: string };
  /** Where program tools run (the worker's). */
  programSandbox?: { kind: 'bubblewrap' } | { kind: 'kubernetes'; namespace: string; image: string };
  otlp?: { endpoint: string; headerNames: string[]; contentTenants: string[] };
}

/** Program tools on Kubernetes (the cloud targets); absent: bubblewrap on this machine. */
export type ProgramSandbox = NonNullable<ToolExecutorDeps['kubernetes']>;

/** One process's ports, built by its target (runtime/targets/index.ts openTarget). */
export interface TargetPorts {
  readonly target: Target;
  readonly tenantKeyring: TenantKeyring;
  /** The worker's; undefined for the other components (they never touch blobs). */
  readonly blobStore?: BlobStore;
  /** The worker's trace lake. */
  readonly lakeWriter?: LakeWriter;
  /**
   * The gateway's: run summaries and timelines from the tenants' lakes, for the admin API
   * (local: the lake under the state dir; aws: Athena; gcp: BigQuery).
   */
  readonly runReader?: RunReader;
  /** The worker's: an OTLP exporter when observability.otlp is set, else none. */
  readonly traceExporters: OtlpTraceExporter[];
  /** The worker's, on aws/gcp: program tools as pods in the gVisor pool. */
  readonly programSandbox?: ProgramSandbox;
  /** The secret store the wiring names: OpenBao (aws/gcp) or the metadata database. */
  openSecretStore(databaseUrl: string): Promise<ClosableSecretStore>;
  describe(): PortsSummary;
}

/** What a target module (local, aws, gcp) contributes; openTarget adds the rest. */
export interface BuiltPorts {
  tenantKeyring: TenantKeyring;
  blobStore?: BlobStore;
  lakeWriter?: LakeWriter;
  runReader?: RunReader;
  summary: Pick<PortsSummary, 'tenantKeyring' | 'blobStore' | 'lakeWriter' | 'runReader'>;
}
