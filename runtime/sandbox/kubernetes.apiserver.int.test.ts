/**
 * The Kubernetes sandbox against a real kube-apiserver (test/fixtures/kube.ts), acting as the
 * worker's ServiceAccount bound to exactly the Role the stack gives it
 * (components/k8s/runtime.ts SANDBOX_EXECUTOR_RULES), in a namespace that enforces the
 * `restricted` Pod Security profile, with the gVisor RuntimeClass the sandbox component makes.
 *
 * What this proves: RBAC lets the executor do every call it makes and nothing it does not
 * need; PodSecurity and RuntimeClass admission accept the tool pod as built; the call's Pod,
 * Secret and NetworkPolicy are all removed afterwards. What it cannot: there is no kubelet,
 * so the pod stays Pending and the call ends in SANDBOX_TIMEOUT; gVisor and NetworkPolicy
 * enforcement need real nodes.
 */
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNTIME_NAMESPACE, SANDBOX_NAMESPACE, SERVICE_ACCOUNTS, restrictedNamespaceLabels } from '../../contracts/kubernetes.js';
import { SANDBOX_EXECUTOR_RULES } from '../../components/k8s/runtime.js';
import { runtimeClassSpec } from '../../components/k8s/sandbox.js';
import { kubeBinaries, startKubeApiServer, type KubeApiServer } from '../../test/fixtures/kube.js';
import { KubernetesSandbox, type KubernetesJob } from './kubernetes.js';

const bins = kubeBinaries();
if ('missing' in bins) console.warn(`kube-apiserver sandbox test skipped: ${bins.missing}`);

const job: KubernetesJob = {
  tenantId: 'acme',
  tool: 'shell.wc',
  callId: 'run-1/2/call-1',
  image: `registry.example/claw-tools@sha256:${'a'.repeat(64)}`,
  command: ['/bin/tool'],
  args: { text: 'hello' },
  secrets: { API_TOKEN: 'tok-123' },
  egressCidrs: ['203.0.113.7/32'],
  memoryMb: 128,
  timeoutMs: 500,
};

describe.skipIf('missing' in bins)('KubernetesSandbox on a real kube-apiserver, as the worker ServiceAccount', () => {
  let kube: KubeApiServer;
  let admin: { core: k8s.CoreV1Api; rbac: k8s.RbacAuthorizationV1Api; net: k8s.NetworkingV1Api };

  const bindRole = async (name: string, rules: k8s.V1PolicyRule[]) => {
    await admin.rbac.createNamespacedRole({ namespace: SANDBOX_NAMESPACE, body: { metadata: { name }, rules } });
    await admin.rbac.createNamespacedRoleBinding({
      namespace: SANDBOX_NAMESPACE,
      body: {
        metadata: { name },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects: [{ kind: 'ServiceAccount', name: SERVICE_ACCOUNTS.worker, namespace: RUNTIME_NAMESPACE }],
      },
    });
  };
  const leftovers = async () => ({
    pods: (await admin.core.listNamespacedPod({ namespace: SANDBOX_NAMESPACE })).items.map((p) => p.metadata!.name),
    secrets: (await admin.core.listNamespacedSecret({ namespace: SANDBOX_NAMESPACE })).items.map((s) => s.metadata!.name),
    policies: (await admin.net.listNamespacedNetworkPolicy({ namespace: SANDBOX_NAMESPACE })).items.map((p) => p.metadata!.name),
  });

  beforeAll(async () => {
    kube = await startKubeApiServer();
    const kc = kube.admin();
    admin = { core: kc.makeApiClient(k8s.CoreV1Api), rbac: kc.makeApiClient(k8s.RbacAuthorizationV1Api), net: kc.makeApiClient(k8s.NetworkingV1Api) };
    await admin.core.createNamespace({ body: { metadata: { name: RUNTIME_NAMESPACE, labels: restrictedNamespaceLabels() } } });
    await admin.core.createNamespace({ body: { metadata: { name: SANDBOX_NAMESPACE, labels: restrictedNamespaceLabels() } } });
    await admin.core.createNamespacedServiceAccount({ namespace: RUNTIME_NAMESPACE, body: { metadata: { name: SERVICE_ACCOUNTS.worker } } });
    // What the ServiceAccount controller (not running here) would make in every namespace.
    await admin.core.createNamespacedServiceAccount({ namespace: SANDBOX_NAMESPACE, body: { metadata: { name: 'default' } } });
    const { metadata, handler, scheduling } = runtimeClassSpec('runsc');
    await kc.makeApiClient(k8s.NodeV1Api).createRuntimeClass({ body: { metadata: { name: metadata.name }, handler, scheduling } });
  }, 120_000);
  afterAll(async () => kube?.stop());

  it('the Role the stack grants is enough: the pod, its Secret and NetworkPolicy are admitted, then all removed', async () => {
    await bindRole('claw-sandbox-executor', SANDBOX_EXECUTOR_RULES);
    const sandbox = new KubernetesSandbox({ kubeConfig: await kube.as(RUNTIME_NAMESPACE, SERVICE_ACCOUNTS.worker), pollMs: 100, schedulingGraceMs: 1_500 });
    const seen: string[] = [];
    // Watch as admin while the call runs: the objects exist during the call.
    const during = (async () => {
      const until = Date.now() + 1_500;
      while (Date.now() < until) {
        const now = await leftovers();
        if (now.pods.length && now.secrets.length && now.policies.length) {
          seen.push('all three');
          const pod = await admin.core.readNamespacedPod({ namespace: SANDBOX_NAMESPACE, name: now.pods[0]! });
          expect(pod.spec!.runtimeClassName).toBe('gvisor');
          expect(pod.status?.phase).toBe('Pending');
          // The arguments and the secret are in the call's Secret, not in the pod spec anyone who lists pods reads.
          expect(JSON.stringify(pod.spec)).not.toMatch(/hello|tok-123/);
          const secret = await admin.core.readNamespacedSecret({ namespace: SANDBOX_NAMESPACE, name: now.secrets[0]! });
          expect(Buffer.from(secret.data!.CLAW_ARGS!, 'base64').toString()).toBe('{"text":"hello"}');
          return;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const outcome = await sandbox.run(job);
    await during;
    expect(seen).toEqual(['all three']);
    // No kubelet: the pod never runs, and the executor gives up at its deadline, not on a 403.
    expect(outcome.error?.code).toBe('SANDBOX_TIMEOUT');
    expect(outcome.phase).toBe('Pending');
    expect(await leftovers()).toEqual({ pods: [], secrets: [], policies: [] });
  }, 60_000);

  it('a Role without Secrets (what the stack granted before) is refused by the API server, and the call says so', async () => {
    await admin.rbac.deleteNamespacedRoleBinding({ namespace: SANDBOX_NAMESPACE, name: 'claw-sandbox-executor' });
    await bindRole('pods-only', [
      { apiGroups: [''], resources: ['pods'], verbs: ['create', 'get', 'list', 'watch', 'delete'] },
      { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
    ]);
    const sandbox = new KubernetesSandbox({ kubeConfig: await kube.as(RUNTIME_NAMESPACE, SERVICE_ACCOUNTS.worker), pollMs: 100, schedulingGraceMs: 1_500 });
    const outcome = await sandbox.run(job);
    expect(outcome.ok).toBe(false);
    expect(outcome.error?.code).toBe('SANDBOX_KUBERNETES');
    expect(outcome.error?.message).toMatch(/forbidden|403/i);
    expect(outcome.error?.message).not.toContain('tok-123');
    expect(await leftovers()).toEqual({ pods: [], secrets: [], policies: [] });
  }, 60_000);

  it('a pod that breaks the restricted profile is refused by admission (the namespace enforces it)', async () => {
    const kc = kube.admin();
    const unconfined = kc.makeApiClient(k8s.CoreV1Api).createNamespacedPod({
      namespace: SANDBOX_NAMESPACE,
      // No securityContext at all: may run as root, escalate, keep capabilities, no seccomp profile.
      body: { metadata: { name: 'unconfined' }, spec: { containers: [{ name: 'c', image: job.image }] } },
    });
    await expect(unconfined).rejects.toThrow(/violates PodSecurity/);
  });
});
