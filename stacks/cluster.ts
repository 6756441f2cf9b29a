/**
 * "Bring your own cluster" (preview): the platform's Kubernetes layer alone
 * (stacks/kubernetes-layer.ts) on a cluster the customer already runs, with what the cloud
 * layer would otherwise have made — the database, each tenant's key, bucket and identity —
 * given in a file (`CLAW_CLUSTER=<file>` for `claw install|up|upgrade|…`). claw.yaml stays
 * the install's description (tenants, images, versions, Temporal); nothing is created in a
 * cloud account, so preflight has nothing to check.
 *
 * It is also how the install lifecycle is tested for real: the real Pulumi engine and
 * kubernetes provider against a real API server (test/lifecycle.apiserver.int.test.ts).
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { formatPath } from '../core/config/load.js';
import type { ClawConfig } from '../core/config/schema.js';
import { ClawError } from '../core/errors.js';
import { kubernetesLayer } from './kubernetes-layer.js';

const Tenant = z
  .object({
    id: z.string().min(1),
    keyRef: z.string().min(1),
    bucket: z.string().min(1),
    prefix: z.string().optional(),
    roleArn: z.string().optional(),
    database: z.string().optional(),
    workgroup: z.string().optional(),
    dataset: z.string().optional(),
  })
  .strict();

export const ClusterInputsSchema = z
  .object({
    /** The cluster's kubeconfig: a path (relative to this file), or its YAML or JSON inline. */
    kubeconfig: z.string().min(1),
    sandboxHandler: z.enum(['runsc', 'gvisor']).default('runsc'),
    database: z
      .object({
        host: z.string().min(1),
        port: z.number().int().positive().optional(),
        name: z.string().min(1),
        user: z.string().min(1),
        /** A Secret in the runtime namespace holding the password (key `password`), made by the operator. */
        passwordSecretName: z.string().min(1),
      })
      .strict(),
    tenants: z.array(Tenant),
    /**
     * Wait for the runtime's Deployments to become ready during apply (default). `false`:
     * apply returns once the API server has them, and claw's health gate reads readiness.
     */
    awaitWorkloads: z.boolean().default(true),
  })
  .strict();

export type ClusterInputs = z.infer<typeof ClusterInputsSchema>;

/** Read and check a cluster file; any problem is one CLUSTER_INPUTS_INVALID naming the field. */
export function readClusterInputs(file: string): ClusterInputs & { kubeconfigYaml: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ClawError('CLUSTER_INPUTS_INVALID', `${file} is not readable JSON (${(err as Error).message.split('\n')[0]})`, { hint: 'CLAW_CLUSTER names a JSON file: { kubeconfig, database, tenants }' });
  }
  const parsed = ClusterInputsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ClawError('CLUSTER_INPUTS_INVALID', `${file}: ${formatPath(issue.path) || '(top level)'}: ${issue.message}`, { hint: 'fix that field of the cluster file' });
  }
  // A kubeconfig given inline spans lines; a single line is a path, relative to the cluster file.
  const kubeconfig = parsed.data.kubeconfig;
  const kubeconfigYaml = kubeconfig.includes('\n') ? kubeconfig : readFileSync(resolve(dirname(resolve(file)), kubeconfig), 'utf8');
  return { ...parsed.data, kubeconfigYaml };
}

export async function clusterStack(cfg: ClawConfig, inputs: ClusterInputs & { kubeconfigYaml: string }): Promise<Record<string, unknown>> {
  if (cfg.temporal.mode !== 'cloud') {
    throw new ClawError('CLUSTER_INPUTS_INVALID', "on your own cluster, Temporal is Temporal Cloud: self-hosted Temporal needs the database the cloud layer makes", {
      hint: "set 'temporal: { mode: cloud, namespace, address, apiKeySecret }' in claw.yaml",
    });
  }
  const configured = new Set(cfg.tenants.map((t) => t.id));
  const given = new Set(inputs.tenants.map((t) => t.id));
  const missing = [...configured].filter((t) => !given.has(t));
  if (missing.length) {
    throw new ClawError('CLUSTER_INPUTS_INVALID', `the cluster file has no key, bucket and identity for tenant ${missing.map((t) => `'${t}'`).join(', ')}`, { hint: 'add them under tenants[] of the cluster file' });
  }
  if (!inputs.awaitWorkloads) skipDeploymentAwait();
  const provider = new k8s.Provider('cluster', { kubeconfig: inputs.kubeconfigYaml, enableServerSideApply: true });
  const { temporal, runtime } = kubernetesLayer({
    config: cfg,
    provider,
    sandboxHandler: inputs.sandboxHandler,
    runtime: {
      database: inputs.database,
      tenants: inputs.tenants.filter((t) => configured.has(t.id)),
    },
  });
  return {
    temporalAddress: temporal.address,
    runtimeNamespace: runtime.namespace,
    // claw's health gate reads the Deployments with it (cli/installer/health.ts).
    kubeconfig: pulumi.secret(inputs.kubeconfigYaml),
    // The tenants' keys and buckets are the cluster file's: destroying this stack deletes none (cli/commands/destroy.ts).
    tenantData: 'outside-this-stack',
  };
}

/**
 * Apply returns once the API server has each Deployment, without waiting for its pods
 * (pulumi.com/skipAwait); readiness is read afterwards, by claw's health gate.
 */
function skipDeploymentAwait(): void {
  pulumi.runtime.registerResourceTransform((args) => {
    if (args.type !== 'kubernetes:apps/v1:Deployment') return undefined;
    const metadata = (args.props.metadata ?? {}) as { annotations?: Record<string, string> };
    return { props: { ...args.props, metadata: { ...metadata, annotations: { ...metadata.annotations, 'pulumi.com/skipAwait': 'true' } } }, opts: args.opts };
  });
}
