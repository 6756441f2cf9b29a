/**
 * The install lifecycle a customer runs, as `claw` processes on the real engine: install →
 * a second plan changes nothing → upgrade (health gate) → rollback → an out-of-band change
 * → drift exits 4 → refresh → destroy. The program is the platform's Kubernetes layer alone
 * (CLAW_CLUSTER, stacks/cluster.ts: the shape of "bring your own cluster"), so it runs here.
 *
 * Real: the claw CLI, the Pulumi CLI and Automation API with a file:// backend (passphrase
 * secrets: a test stack), the pulumi-resource-kubernetes plugin, kube-apiserver with etcd
 * and kube-controller-manager (Deployments roll out ReplicaSets and pods; namespaces finish
 * deleting). A stand-in, named so: no kubelet exists, so this test marks each pod Running
 * and Ready through the API (pods/status), as a kubelet would once its containers start;
 * claw's health gate then reads real Deployment status computed by the real controllers.
 * Not here: the aws/gcp resources (no provider plugin can be built here), Temporal and
 * OpenBao charts (Temporal Cloud mode; the runtime keeps secrets in its database).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELEASE_VERSION_LABEL, RUNTIME_NAMESPACE, SANDBOX_NAMESPACE } from '../contracts/kubernetes.js';
import { EXIT } from '../core/errors.js';
import { runClaw, type ClawResult } from './fixtures/claw-cli.js';
import { kubeBinaries, startKubeApiServer, type KubeApiServer } from './fixtures/kube.js';
import { installKubernetesPlugin, kubernetesEngineTools } from './fixtures/tools.js';
import { clusterInstallYaml, writeClusterFile } from './fixtures/cluster-install.js';

const kube = kubeBinaries();
const { cli, plugin, missing } = kubernetesEngineTools(kube);
if (missing.length > 0) console.warn(`install lifecycle on the real engine skipped: ${missing.join('; ')}`);

describe.skipIf(missing.length > 0)('the install lifecycle through claw, on the real engine and a real API server', () => {
  let server: KubeApiServer;
  let work: string;
  let apps: k8s.AppsV1Api;
  let core: k8s.CoreV1Api;
  let kubelet: NodeJS.Timeout | undefined;
  /** A release whose pods the kubelet stand-in never starts (their containers would crash). */
  let crashing: string | undefined;
  const env = () => ({ CLAW_CLUSTER: join(work, 'cluster.json'), PULUMI_CONFIG_PASSPHRASE: 'test-only-passphrase' });
  const claw = (args: string[]): Promise<ClawResult> => runClaw(args, { stateDir: join(work, 'state'), cwd: work, env: env() });
  const ok = async (args: string[]) => {
    const result = await claw(args);
    expect(result.code, `claw ${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
    return result;
  };
  const versions = async () => (await apps.listNamespacedDeployment({ namespace: RUNTIME_NAMESPACE })).items.map((d) => `${d.metadata!.name}=${d.metadata!.labels![RELEASE_VERSION_LABEL]}`).sort();

  beforeAll(async () => {
    server = await startKubeApiServer({ controllerManager: true });
    work = mkdtempSync(join(tmpdir(), 'claw-lifecycle-'));
    writeFileSync(join(work, 'claw.yaml'), clusterInstallYaml('0.1.0'));
    writeClusterFile(work, server.kubeconfigFile);
    // Where claw's workspace looks: the install's PULUMI_HOME.
    installKubernetesPlugin(cli!, plugin!, join(work, 'state', 'installs', 'prod', 'pulumi-home'));
    const kc = server.admin();
    apps = kc.makeApiClient(k8s.AppsV1Api);
    core = kc.makeApiClient(k8s.CoreV1Api);
    // The kubelet stand-in: every pod of the runtime is marked Running and Ready.
    const markReady = async () => {
      const pods = (await core.listNamespacedPod({ namespace: RUNTIME_NAMESPACE }).catch(() => ({ items: [] as k8s.V1Pod[] }))).items;
      for (const pod of pods.filter((p) => p.status?.phase !== 'Running' && !p.metadata?.deletionTimestamp && p.metadata?.labels?.[RELEASE_VERSION_LABEL] !== crashing)) {
        const now = new Date();
        await core
          .replaceNamespacedPodStatus({
            name: pod.metadata!.name!,
            namespace: RUNTIME_NAMESPACE,
            body: { ...pod, status: { ...pod.status, phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }, { type: 'ContainersReady', status: 'True', lastTransitionTime: now }], startTime: now } },
          })
          .catch(() => undefined);
      }
    };
    kubelet = setInterval(() => void markReady(), 500);
  }, 240_000);

  afterAll(async () => {
    if (kubelet) clearInterval(kubelet);
    await server?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('claw install applies the Kubernetes layer: the API server admits it all, and nothing is asked of a cloud', async () => {
    const install = await ok(['--yes', 'install']);
    expect(install.stdout + install.stderr).toMatch(/preflight skipped \(pulumi \(automation api\), Kubernetes layer only: no cloud to check\)/);
    expect(await versions()).toEqual(['codec-server=0.1.0', 'gateway=0.1.0', 'worker=0.1.0']);
    const sandbox = await core.readNamespace({ name: SANDBOX_NAMESPACE });
    expect(sandbox.metadata!.labels!['pod-security.kubernetes.io/enforce']).toBe('restricted');
    // A second plan of the same claw.yaml changes nothing.
    expect((await claw(['plan', '--detailed-exitcode'])).code).toBe(0);
  }, 300_000);

  it('claw upgrade moves to the next release once the health gate sees it ready; claw rollback goes back', async () => {
    const upgraded = await ok(['--yes', '--json', 'upgrade', '--to', '0.2.0', '--health-timeout', '120']);
    expect(upgraded.stdout.trim().split('\n').map((l) => JSON.parse(l)).at(-1)).toMatchObject({ type: 'upgrade.result', from: '0.1.0', to: '0.2.0', outcome: 'upgraded' });
    expect(await versions()).toEqual(['codec-server=0.2.0', 'gateway=0.2.0', 'worker=0.2.0']);
    expect(readFileSync(join(work, 'claw.yaml'), 'utf8')).toMatch(/runtime: 0\.2\.0/);

    const back = await ok(['--yes', 'rollback']);
    expect(back.stdout).toContain('rolled-back (0.2.0 → 0.1.0)');
    expect(await versions()).toEqual(['codec-server=0.1.0', 'gateway=0.1.0', 'worker=0.1.0']);
  }, 600_000);

  it('an upgrade whose pods never become ready is rolled back by the health gate (UPGRADE_ROLLED_BACK)', async () => {
    crashing = '0.2.0';
    const failed = await claw(['--yes', 'upgrade', '--to', '0.2.0', '--health-timeout', '15']);
    crashing = undefined;
    expect(failed.code, failed.stdout + failed.stderr).toBe(1);
    expect(failed.stderr).toMatch(/^error UPGRADE_ROLLED_BACK: .*rolled back to 0\.1\.0/m);
    expect(await versions()).toEqual(['codec-server=0.1.0', 'gateway=0.1.0', 'worker=0.1.0']);
    expect(readFileSync(join(work, 'claw.yaml'), 'utf8')).toMatch(/runtime: 0\.1\.0/);
  }, 600_000);

  it('an out-of-band change is drift (exit 4, naming it); claw refresh adopts it, and claw up puts it back', async () => {
    expect((await claw(['drift'])).code).toBe(EXIT.ok);
    // Someone deletes the gateway's Service by hand.
    await core.deleteNamespacedService({ name: 'gateway', namespace: RUNTIME_NAMESPACE });
    const drift = await claw(['drift']);
    expect(drift.code, drift.stdout + drift.stderr).toBe(EXIT.drift);
    expect(drift.stdout).toMatch(/gateway/);
    await ok(['refresh']);
    expect((await claw(['drift'])).code).toBe(EXIT.ok);
    await ok(['--yes', 'up']);
    expect((await core.readNamespacedService({ name: 'gateway', namespace: RUNTIME_NAMESPACE })).metadata!.name).toBe('gateway');
  }, 600_000);

  it('claw destroy takes the typed name and removes everything, namespaces included', async () => {
    expect((await claw(['--yes', 'destroy', '--confirm', 'nope'])).code).not.toBe(0);
    await ok(['--yes', 'destroy', '--confirm', 'prod']);
    const names = (await core.listNamespace()).items.map((n) => n.metadata!.name);
    expect(names).not.toContain(RUNTIME_NAMESPACE);
    expect(names).not.toContain(SANDBOX_NAMESPACE);
  }, 600_000);
});
