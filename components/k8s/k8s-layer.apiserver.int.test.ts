/**
 * The platform's Kubernetes layer, applied for real: the AutomationEngine (the real Pulumi
 * CLI, a file:// backend) runs stacks/cluster.ts — the sandbox pool's namespace and the
 * runtime, composed by the kubernetesLayer the aws and gcp stacks compose too — through the
 * real pulumi-resource-kubernetes plugin against a real kube-apiserver with
 * kube-controller-manager (test/fixtures/kube.ts). test/lifecycle.apiserver.int.test.ts
 * drives the same program through `claw`.
 *
 * Real: the engine, the kubernetes provider, the API server's schema validation, RBAC and
 * PodSecurity admission, the controllers (Deployments make ReplicaSets and pods, namespaces
 * finish deleting). The Deployments are not awaited (the cluster file's awaitWorkloads: false):
 * their pods cannot become ready without a kubelet. Not here: the aws/gcp providers (no plugin can be built here), a kubelet
 * (pods stay Pending), gVisor, and the Temporal/OpenBao Helm charts (not vendored yet).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8sClient from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../core/config/load.js';
import { RELEASE_VERSION_LABEL, RUNTIME_NAMESPACE, SANDBOX_NAMESPACE } from '../../contracts/kubernetes.js';
import { AutomationEngine } from '../../cli/installer/automation-engine.js';
import type { StackSpec } from '../../cli/installer/workspace.js';
import { kubeBinaries, startKubeApiServer, type KubeApiServer } from '../../test/fixtures/kube.js';
import { installKubernetesPlugin, kubernetesEngineTools, localStackSpec } from '../../test/fixtures/tools.js';
import { clusterInstallYaml, writeClusterFile } from '../../test/fixtures/cluster-install.js';

const kube = kubeBinaries();
const { cli, plugin, missing } = kubernetesEngineTools(kube);
if (missing.length > 0) console.warn(`Kubernetes layer on a real API server skipped: ${missing.join('; ')}`);

describe.skipIf(missing.length > 0)('the Kubernetes layer through the real engine and provider on a real API server', () => {
  let server: KubeApiServer;
  let root: string;
  let spec: StackSpec;
  let clusterFile: string;
  let apps: k8sClient.AppsV1Api;
  let core: k8sClient.CoreV1Api;

  /** The program `claw` runs with CLAW_CLUSTER: the Kubernetes layer alone, against `server`. */
  const program = (runtimeVersion: string) => async () => {
    const { clusterStack, readClusterInputs } = await import('../../stacks/cluster.js');
    return clusterStack(parseConfig(clusterInstallYaml(runtimeVersion), join(root, 'claw.yaml')), readClusterInputs(clusterFile));
  };

  beforeAll(async () => {
    server = await startKubeApiServer({ controllerManager: true });
    root = mkdtempSync(join(tmpdir(), 'claw-k8s-layer-'));
    spec = localStackSpec(root, 'prod');
    clusterFile = writeClusterFile(root, server.kubeconfigFile);
    installKubernetesPlugin(cli!, plugin!, spec.pulumiHome);
    const kc = server.admin();
    apps = kc.makeApiClient(k8sClient.AppsV1Api);
    core = kc.makeApiClient(k8sClient.CoreV1Api);
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('applies: the API server admits every object, the controllers roll the Deployments out (pods Pending: no kubelet)', async () => {
    const engine = new AutomationEngine(spec, program('0.1.0'));
    const result = await engine.up();
    expect(result, result.message).toMatchObject({ status: 'succeeded' });
    expect(result.changes.create).toBeGreaterThanOrEqual(15);

    const sandboxNs = await core.readNamespace({ name: SANDBOX_NAMESPACE });
    expect(sandboxNs.metadata!.labels!['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const deployments = (await apps.listNamespacedDeployment({ namespace: RUNTIME_NAMESPACE })).items;
    expect(deployments.map((d) => d.metadata!.name).sort()).toEqual(['codec-server', 'gateway', 'worker']);
    for (const d of deployments) expect(d.metadata!.labels![RELEASE_VERSION_LABEL]).toBe('0.1.0');
    // kube-controller-manager made ReplicaSets and pods from them; no node runs them.
    const deadline = Date.now() + 30_000;
    let pods: k8sClient.V1Pod[] = [];
    while (Date.now() < deadline) {
      pods = (await core.listNamespacedPod({ namespace: RUNTIME_NAMESPACE })).items;
      if (pods.length >= 3) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(pods.length).toBeGreaterThanOrEqual(3);
    expect(new Set(pods.map((p) => p.status?.phase))).toEqual(new Set(['Pending']));
  }, 240_000);

  it('a second apply of the same program changes nothing', async () => {
    const preview = await new AutomationEngine(spec, program('0.1.0')).preview();
    expect(preview.changes).toEqual({ same: preview.changes.same });
    expect(preview.steps.filter((s) => s.op !== 'same')).toEqual([]);
  }, 240_000);

  it('a new release updates the Deployments in place, and their label says so', async () => {
    const diagnostics: string[] = [];
    const result = await new AutomationEngine(spec, program('0.2.0')).up({ onEvent: (e) => e.kind === 'diagnostic' && e.severity !== 'info' && diagnostics.push(e.message) });
    expect(result, diagnostics.join('\n')).toMatchObject({ status: 'succeeded' });
    expect(result.changes.create ?? 0).toBe(0);
    const deployments = (await apps.listNamespacedDeployment({ namespace: RUNTIME_NAMESPACE })).items;
    for (const d of deployments) expect(d.metadata!.labels![RELEASE_VERSION_LABEL]).toBe('0.2.0');
  }, 240_000);

  it('destroys everything, namespaces included', async () => {
    const result = await new AutomationEngine(spec, program('0.2.0')).destroy();
    expect(result, result.message).toMatchObject({ status: 'succeeded' });
    const names = (await core.listNamespace()).items.map((n) => n.metadata!.name);
    expect(names).not.toContain(RUNTIME_NAMESPACE);
    expect(names).not.toContain(SANDBOX_NAMESPACE);
  }, 240_000);
});
