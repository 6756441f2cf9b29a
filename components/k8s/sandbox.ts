/**
 * The sandbox namespace (DESIGN.md invariant 4): where untrusted tool code runs as pods
 * on the tainted sandbox pool under gVisor, with no network unless a later policy opens
 * one, and Pod Security `restricted` enforced.
 */
import * as pulumi from '@pulumi/pulumi';
import * as k8s from '@pulumi/kubernetes';
import { POOL_LABEL, POOLS, SANDBOX_NAMESPACE, SANDBOX_RUNTIME_CLASS, SANDBOX_TAINT } from '../../contracts/kubernetes.js';
import { podSecurityNamespace } from './namespace.js';

/** containerd runtime handler: `runsc` where we register gVisor ourselves (EKS), `gvisor` on GKE Sandbox. */
export type GvisorHandler = 'runsc' | 'gvisor';

export interface SandboxNamespaceArgs {
  provider: k8s.Provider;
  /** Default `runsc` (EKS); GKE passes `gvisor`. */
  handler?: GvisorHandler;
  /** Default `claw-sandbox`. */
  namespace?: string;
}

export function runtimeClassSpec(handler: GvisorHandler) {
  return {
    metadata: {
      name: SANDBOX_RUNTIME_CLASS,
      labels: { 'app.kubernetes.io/part-of': 'claw' },
      // GKE creates its own `gvisor` RuntimeClass with a sandbox pool; server-side apply
      // with patchForce takes over the fields we set (our taint's toleration and selector).
      annotations: (handler === 'gvisor' ? { 'pulumi.com/patchForce': 'true' } : {}) as Record<string, string>,
    },
    handler,
    scheduling: {
      nodeSelector: { [POOL_LABEL]: POOLS.sandbox },
      tolerations: [{ key: SANDBOX_TAINT.key, operator: 'Equal', value: SANDBOX_TAINT.value, effect: SANDBOX_TAINT.effect }],
    },
  };
}

/** Deny all traffic in one direction for every pod of the namespace. */
export function defaultDenySpec(direction: 'Ingress' | 'Egress') {
  return { podSelector: {}, policyTypes: [direction] };
}

export class SandboxNamespace extends pulumi.ComponentResource {
  readonly namespace: pulumi.Output<string>;
  readonly runtimeClassName: pulumi.Output<string>;

  constructor(name: string, args: SandboxNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
    super('claw:k8s:SandboxNamespace', name, {}, opts);
    if (!args?.provider) throw new pulumi.InputPropertyError({ propertyPath: 'provider', reason: 'a Kubernetes provider is required' });
    const handler = args.handler ?? 'runsc';
    if (handler !== 'runsc' && handler !== 'gvisor') {
      throw new pulumi.InputPropertyError({ propertyPath: 'handler', reason: "handler is 'runsc' (EKS) or 'gvisor' (GKE)" });
    }
    const child = { parent: this, provider: args.provider };

    const ns = podSecurityNamespace(`${name}-ns`, args.namespace ?? SANDBOX_NAMESPACE, 'restricted', child);
    const namespace = ns.metadata.name;

    const runtimeClass = new k8s.node.v1.RuntimeClass(`${name}-runtimeclass`, runtimeClassSpec(handler), child);

    for (const direction of ['Ingress', 'Egress'] as const) {
      new k8s.networking.v1.NetworkPolicy(`${name}-deny-${direction.toLowerCase()}`, {
        metadata: { name: `default-deny-${direction.toLowerCase()}`, namespace },
        spec: defaultDenySpec(direction),
      }, child);
    }

    // Sandbox pods get no API token: the default ServiceAccount mounts none.
    new k8s.core.v1.ServiceAccountPatch(`${name}-default-sa`, {
      metadata: { name: 'default', namespace },
      automountServiceAccountToken: false,
    }, child);

    this.namespace = namespace;
    this.runtimeClassName = runtimeClass.metadata.name;
    this.registerOutputs({ namespace: this.namespace, runtimeClassName: this.runtimeClassName });
  }
}
