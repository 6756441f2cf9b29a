/**
 * Names and labels the Kubernetes-level components share with the clusters (EKS, GKE)
 * and with the runtime's sandbox executor. One place, so a node pool's taint and the
 * RuntimeClass's toleration cannot drift apart.
 */
import { PORTS as RUNTIME_PORTS } from './wiring.js';

/** Taint on sandbox nodes: only pods that tolerate it (sandbox pods) land there. */
export const SANDBOX_TAINT = { key: 'claw.dev/sandbox', value: 'gvisor', effect: 'NoSchedule' } as const;
/** Node label naming the pool a node belongs to. */
export const POOL_LABEL = 'claw.dev/pool';
export const POOLS = { sandbox: 'sandbox', system: 'system' } as const;

export const SANDBOX_RUNTIME_CLASS = 'gvisor';
export const SANDBOX_NAMESPACE = 'claw-sandbox';
export const RUNTIME_NAMESPACE = 'claw';
export const TEMPORAL_NAMESPACE = 'temporal';
export const OPENBAO_NAMESPACE = 'openbao';

export type RuntimeComponentName = 'worker' | 'gateway' | 'codecServer';
export const RUNTIME_COMPONENTS: readonly RuntimeComponentName[] = ['worker', 'gateway', 'codecServer'];

/** Kubernetes ServiceAccount per runtime component (EKS Pod Identity associates by these names). */
export const SERVICE_ACCOUNTS: Record<RuntimeComponentName, string> = {
  worker: 'claw-worker',
  gateway: 'claw-gateway',
  codecServer: 'claw-codec-server',
};

/** Kebab-case name of a component for Kubernetes objects. */
export const K8S_NAMES: Record<RuntimeComponentName, string> = {
  worker: 'worker',
  gateway: 'gateway',
  codecServer: 'codec-server',
};

/** The port each component listens on (`CLAW_PORT`), serving `GET /healthz`: the runtime's wiring contract. */
export const PORTS: Record<RuntimeComponentName, number> = RUNTIME_PORTS;

/**
 * The runtime release a Deployment and its pods run (claw.yaml versions.runtime): the stacks
 * set it, and the upgrade health gate (cli/installer/health.ts) waits until every Deployment
 * carries the expected one. Images are pinned by digest, so this label is how a version is read.
 */
export const RELEASE_VERSION_LABEL = 'app.kubernetes.io/version';

/** Non-root uid/gid the runtime images run as (runtime/images). */
export const RUNTIME_UID = 10001;

/** Pod Security Admission labels that enforce (and audit, warn) the `restricted` profile. */
export function restrictedNamespaceLabels(): Record<string, string> {
  return {
    'pod-security.kubernetes.io/enforce': 'restricted',
    'pod-security.kubernetes.io/enforce-version': 'latest',
    'pod-security.kubernetes.io/audit': 'restricted',
    'pod-security.kubernetes.io/warn': 'restricted',
  };
}

export interface SandboxPodScheduling {
  runtimeClassName: string;
  nodeSelector: Record<string, string>;
  tolerations: { key: string; operator: 'Equal'; value: string; effect: string }[];
  automountServiceAccountToken: false;
}

/**
 * What a sandbox pod spec carries (the runtime's Kubernetes sandbox executor uses this).
 * The RuntimeClass adds the same scheduling, but pods state it too so they stay on the
 * sandbox pool even if a platform reconciles the RuntimeClass (GKE owns `gvisor` there).
 */
export function sandboxPodScheduling(): SandboxPodScheduling {
  return {
    runtimeClassName: SANDBOX_RUNTIME_CLASS,
    nodeSelector: { [POOL_LABEL]: POOLS.sandbox },
    tolerations: [{ key: SANDBOX_TAINT.key, operator: 'Equal', value: SANDBOX_TAINT.value, effect: SANDBOX_TAINT.effect }],
    automountServiceAccountToken: false,
  };
}
