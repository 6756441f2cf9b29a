/**
 * Guardrails for the Kubernetes objects of an install (DESIGN.md invariant 4): untrusted
 * code runs only in gVisor pods on the tainted sandbox pool, and only such pods tolerate
 * the sandbox taint; the sandbox namespace denies all traffic by default and enforces the
 * restricted Pod Security profile. Cloud-neutral: they hold on EKS and GKE alike.
 */
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from '@pulumi/policy';
import { POOL_LABEL, POOLS, SANDBOX_NAMESPACE, SANDBOX_RUNTIME_CLASS, SANDBOX_TAINT } from '../../../contracts/kubernetes.js';
import type { GuardrailPolicy } from './common.js';

interface PodSpec {
  runtimeClassName?: string;
  tolerations?: Array<{ key?: string; operator?: string; value?: string; effect?: string }>;
  nodeSelector?: Record<string, string>;
  automountServiceAccountToken?: boolean;
}

/** The pod template of any workload kind (Pod, Deployment, Job, CronJob, ...), or undefined. */
export function podSpecOf(type: string, props: Record<string, any>): PodSpec | undefined {
  if (!type.startsWith('kubernetes:')) return undefined;
  const kind = type.split(':').pop();
  switch (kind) {
    case 'Pod':
      return props.spec;
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
    case 'Job':
      return props.spec?.template?.spec;
    case 'CronJob':
      return props.spec?.jobTemplate?.spec?.template?.spec;
    default:
      return undefined;
  }
}

const toleratesSandbox = (spec: PodSpec) =>
  (spec.tolerations ?? []).some(
    (t) => (t.key === SANDBOX_TAINT.key || (t.key === undefined && t.operator === 'Exists')) && (t.effect === undefined || t.effect === SANDBOX_TAINT.effect),
  );

function forPods(check: (spec: PodSpec, namespace: string | undefined, report: ReportViolation, args: ResourceValidationArgs) => void) {
  return (args: ResourceValidationArgs, report: ReportViolation) => {
    const spec = podSpecOf(args.type, args.props ?? {});
    if (spec) check(spec, args.props?.metadata?.namespace, report, args);
  };
}

const sandboxPodsGvisor: ResourceValidationPolicy = {
  name: 'k8s-sandbox-pods-gvisor',
  description: `Pods in the sandbox namespace run with the '${SANDBOX_RUNTIME_CLASS}' RuntimeClass, on the sandbox pool, without a service-account token.`,
  enforcementLevel: 'mandatory',
  validateResource: forPods((spec, namespace, report) => {
    if (namespace !== SANDBOX_NAMESPACE) return;
    if (spec.runtimeClassName !== SANDBOX_RUNTIME_CLASS) report(`sandbox pod runs with runtimeClassName '${spec.runtimeClassName ?? 'default (runc)'}', not '${SANDBOX_RUNTIME_CLASS}'`);
    if (spec.automountServiceAccountToken !== false) report('sandbox pod mounts a service-account token');
  }),
};

const onlySandboxPodsTolerate: ResourceValidationPolicy = {
  name: 'k8s-only-sandbox-pods-tolerate-sandbox-taint',
  description: `Only gVisor pods tolerate the ${SANDBOX_TAINT.key} taint or select the sandbox pool; nothing tolerates every taint.`,
  enforcementLevel: 'mandatory',
  validateResource: forPods((spec, _namespace, report) => {
    const gvisor = spec.runtimeClassName === SANDBOX_RUNTIME_CLASS;
    if (toleratesSandbox(spec) && !gvisor) report(`a pod without the '${SANDBOX_RUNTIME_CLASS}' RuntimeClass tolerates the sandbox taint: it could share a node with untrusted code`);
    if (spec.nodeSelector?.[POOL_LABEL] === POOLS.sandbox && !gvisor) report('a pod without gVisor selects the sandbox pool');
  }),
};

const runtimeClassScheduling: ResourceValidationPolicy = {
  name: 'k8s-gvisor-runtimeclass-on-sandbox-pool',
  description: `The '${SANDBOX_RUNTIME_CLASS}' RuntimeClass uses a gVisor handler and schedules onto the sandbox pool with the taint's toleration.`,
  enforcementLevel: 'mandatory',
  validateResource: (args, report) => {
    if (args.type !== 'kubernetes:node.k8s.io/v1:RuntimeClass' || args.props?.metadata?.name !== SANDBOX_RUNTIME_CLASS) return;
    const p = args.props;
    if (p.handler !== 'runsc' && p.handler !== 'gvisor') report(`handler '${p.handler}' is not gVisor`);
    if (p.scheduling?.nodeSelector?.[POOL_LABEL] !== POOLS.sandbox) report('the RuntimeClass does not pin its pods to the sandbox pool');
    if (!toleratesSandbox({ tolerations: p.scheduling?.tolerations })) report('the RuntimeClass does not tolerate the sandbox taint (its pods could not be scheduled)');
  },
};

const sandboxNamespaceLocked: StackValidationPolicy = {
  name: 'k8s-sandbox-namespace-locked-down',
  description: 'The sandbox namespace enforces the restricted Pod Security profile and has default-deny ingress and egress NetworkPolicies.',
  enforcementLevel: 'mandatory',
  validateStack: (args, report) => {
    const ns = args.resources.find((r) => r.type === 'kubernetes:core/v1:Namespace' && r.props?.metadata?.name === SANDBOX_NAMESPACE);
    if (!ns) return; // an install without the sandbox namespace has no sandbox pods either
    if (ns.props.metadata?.labels?.['pod-security.kubernetes.io/enforce'] !== 'restricted') report('the sandbox namespace does not enforce the restricted Pod Security profile', ns.urn);
    const policies = args.resources.filter((r) => r.type === 'kubernetes:networking.k8s.io/v1:NetworkPolicy' && r.props?.metadata?.namespace === SANDBOX_NAMESPACE);
    for (const direction of ['Ingress', 'Egress']) {
      const denies = policies.some((p) => {
        const spec = p.props.spec ?? {};
        const selectsAll = Object.keys(spec.podSelector ?? {}).length === 0 || Object.keys(spec.podSelector?.matchLabels ?? {}).length === 0 && !spec.podSelector?.matchExpressions?.length;
        const rules = direction === 'Ingress' ? spec.ingress : spec.egress;
        return selectsAll && (spec.policyTypes ?? []).includes(direction) && (rules === undefined || rules.length === 0);
      });
      if (!denies) report(`the sandbox namespace has no default-deny ${direction.toLowerCase()} NetworkPolicy`, ns.urn);
    }
  },
};

export const k8sRules: GuardrailPolicy[] = [sandboxPodsGvisor, onlySandboxPodsTolerate, runtimeClassScheduling, sandboxNamespaceLocked];
