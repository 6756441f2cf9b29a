import * as pulumi from '@pulumi/pulumi';
import * as k8s from '@pulumi/kubernetes';
import { restrictedNamespaceLabels } from '../../contracts/kubernetes.js';

/**
 * Pod Security level a namespace enforces. Our own workloads (runtime, sandbox) run
 * `restricted`; third-party charts whose pods do not yet meet it (Temporal, OpenBao)
 * enforce `baseline` and still audit and warn at `restricted`, so gaps stay visible.
 */
export type PodSecurityLevel = 'restricted' | 'baseline';

export function namespaceLabels(level: PodSecurityLevel): Record<string, string> {
  const labels: Record<string, string> = { ...restrictedNamespaceLabels(), 'app.kubernetes.io/part-of': 'claw' };
  if (level === 'baseline') labels['pod-security.kubernetes.io/enforce'] = 'baseline';
  return labels;
}

/** A namespace with Pod Security Admission labels; the one way components make namespaces. */
export function podSecurityNamespace(name: string, namespace: string, level: PodSecurityLevel, opts: pulumi.CustomResourceOptions): k8s.core.v1.Namespace {
  return new k8s.core.v1.Namespace(name, { metadata: { name: namespace, labels: namespaceLabels(level) } }, opts);
}
