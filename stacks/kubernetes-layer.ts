/**
 * The platform's Kubernetes layer: what every target that runs on Kubernetes puts in its
 * cluster — the gVisor sandbox pool's namespace, Temporal (self-hosted on the install's
 * database, or Temporal Cloud), OpenBao when the install has one, and the runtime — given
 * what the cloud layer made for it (a provider for the cluster, the database, the tenants'
 * keys, buckets and identities). stacks/aws.ts and stacks/gcp.ts compose it after their
 * cloud resources; stacks/cluster.ts composes it alone, on a cluster someone else runs.
 *
 * The resources keep the names the stacks always gave them ('sandbox', 'temporal',
 * 'openbao', 'runtime'), unparented, so existing stacks see no change in their URNs.
 */
import type * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';
import type { ClawConfig } from '../core/config/schema.js';
import { OpenBao, type OpenBaoArgs } from '../components/k8s/openbao.js';
import { Runtime, type RuntimeArgs } from '../components/k8s/runtime.js';
import { SandboxNamespace } from '../components/k8s/sandbox.js';
import { Temporal, type TemporalArgs } from '../components/k8s/temporal.js';

export interface KubernetesLayerArgs {
  config: ClawConfig;
  provider: k8s.Provider;
  /** The RuntimeClass handler of the cluster's gVisor nodes: 'runsc' (EKS, containerd), 'gvisor' (GKE Sandbox). */
  sandboxHandler: 'runsc' | 'gvisor';
  /** Self-hosted Temporal's database (the cloud layer's); absent with Temporal Cloud. */
  temporalPostgres?: TemporalArgs['postgres'];
  /** OpenBao and how it unseals; absent: the runtime keeps tenant secrets in its database. */
  openbao?: { seal: OpenBaoArgs['seal']; serviceAccountAnnotations?: OpenBaoArgs['serviceAccountAnnotations']; opts?: pulumi.ComponentResourceOptions };
  /** The runtime's wiring the cloud layer knows (database, tenants, identities, Services). */
  runtime: Omit<RuntimeArgs, 'provider' | 'config' | 'temporal' | 'openbao' | 'sandboxNamespace'>;
}

export function kubernetesLayer(args: KubernetesLayerArgs): { sandbox: SandboxNamespace; temporal: Temporal; openbao?: OpenBao; runtime: Runtime } {
  const { config: cfg, provider } = args;
  const sandbox = new SandboxNamespace('sandbox', { provider, handler: args.sandboxHandler });
  const temporal = new Temporal('temporal', {
    provider,
    mode: cfg.temporal,
    chartVersion: cfg.versions.temporalChart,
    serverVersion: cfg.versions.temporalServer,
    postgres: cfg.temporal.mode === 'self-hosted' ? args.temporalPostgres : undefined,
  });
  const openbao = args.openbao
    ? new OpenBao(
        'openbao',
        {
          provider,
          chartVersion: cfg.versions.openbaoChart,
          seal: args.openbao.seal,
          ...(args.openbao.serviceAccountAnnotations ? { serviceAccountAnnotations: args.openbao.serviceAccountAnnotations } : {}),
        },
        args.openbao.opts,
      )
    : undefined;
  const runtime = new Runtime('runtime', {
    ...args.runtime,
    provider,
    // The pods read this config (rendered into their ConfigMap), target and images included.
    config: cfg,
    temporal: { address: temporal.address, namespace: temporal.namespace, apiKeySecret: temporal.apiKeySecret },
    ...(openbao ? { openbao: { address: openbao.address, authMount: openbao.authMount, authRole: openbao.authRole } } : {}),
    sandboxNamespace: sandbox.namespace,
  });
  return { sandbox, temporal, ...(openbao ? { openbao } : {}), runtime };
}
