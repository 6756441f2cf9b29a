/**
 * "Are the workloads healthy?" after an apply (claw upgrade waits on this before it calls
 * an upgrade done, and rolls back when it never becomes true).
 *
 * The real check reads the runtime Deployments through the Kubernetes API with the
 * cluster's kubeconfig from the stack outputs (`kubeconfig`, `runtimeNamespace`): every
 * Deployment must have observed its latest generation and have all replicas updated and
 * ready, running the expected runtime version.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { RELEASE_VERSION_LABEL } from '../../contracts/kubernetes.js';
import type { Engine } from './engine.js';
import type { FakeEngine } from './fake-engine.js';

export interface HealthResult {
  healthy: boolean;
  detail: string;
}

export interface HealthCheck {
  waitHealthy(options: { expectVersion: string; timeoutMs: number; pollMs?: number }): Promise<HealthResult>;
}

interface DeploymentLike {
  metadata?: { name?: string; generation?: number; labels?: Record<string, string> };
  spec?: { replicas?: number };
  status?: { observedGeneration?: number; updatedReplicas?: number; readyReplicas?: number; availableReplicas?: number };
}

/** Why a Deployment is not (yet) healthy, or undefined when it is. */
export function deploymentProblem(d: DeploymentLike, expectVersion: string): string | undefined {
  const name = d.metadata?.name ?? '?';
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  if ((s.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) return `${name}: rollout not observed yet`;
  if ((s.updatedReplicas ?? 0) < want) return `${name}: ${s.updatedReplicas ?? 0}/${want} replicas updated`;
  if ((s.readyReplicas ?? 0) < want) return `${name}: ${s.readyReplicas ?? 0}/${want} replicas ready`;
  // Images are pinned by digest, so the version is the label the stacks set (contracts/kubernetes.ts).
  const version = d.metadata?.labels?.[RELEASE_VERSION_LABEL];
  if (version === undefined) return `${name}: no ${RELEASE_VERSION_LABEL} label (not deployed by this release's stack)`;
  if (version !== expectVersion) return `${name}: running ${version}, expected ${expectVersion}`;
  return undefined;
}

export class KubeHealth implements HealthCheck {
  constructor(private readonly engine: Engine) {}

  async waitHealthy({ expectVersion, timeoutMs, pollMs = 5_000 }: { expectVersion: string; timeoutMs: number; pollMs?: number }): Promise<HealthResult> {
    const outputs = await this.engine.outputs({ reveal: true });
    const kubeconfig = outputs.kubeconfig?.value;
    const namespace = String(outputs.runtimeNamespace?.value ?? 'claw');
    if (typeof kubeconfig !== 'string' && (typeof kubeconfig !== 'object' || kubeconfig === null)) {
      return { healthy: false, detail: 'the stack has no kubeconfig output; cannot check workload health' };
    }
    // Loaded on use: the Kubernetes client takes seconds to import, and most commands never need it.
    const { AppsV1Api, KubeConfig } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    kc.loadFromString(typeof kubeconfig === 'string' ? kubeconfig : JSON.stringify(kubeconfig));
    const apps = kc.makeApiClient(AppsV1Api);
    const deadline = Date.now() + timeoutMs;
    let last = 'no deployments yet';
    for (;;) {
      try {
        const list = await apps.listNamespacedDeployment({ namespace });
        const problems = list.items.map((d) => deploymentProblem(d as DeploymentLike, expectVersion)).filter((p): p is string => p !== undefined);
        if (list.items.length > 0 && problems.length === 0) return { healthy: true, detail: `${list.items.length} deployment(s) ready in ${namespace}` };
        last = problems[0] ?? `no deployments in namespace ${namespace}`;
      } catch (err) {
        last = `kubernetes api: ${(err as Error).message.split('\n')[0]}`;
      }
      if (Date.now() + pollMs > deadline) return { healthy: false, detail: last };
      await sleep(pollMs);
    }
  }
}

/** The fake engine's notion of health (FakeFaults.unhealthyVersions). */
export class FakeHealth implements HealthCheck {
  constructor(private readonly engine: FakeEngine) {}

  async waitHealthy({ expectVersion }: { expectVersion: string }): Promise<HealthResult> {
    return this.engine.healthy()
      ? { healthy: true, detail: `runtime ${expectVersion} healthy (fake)` }
      : { healthy: false, detail: `runtime ${expectVersion} did not become healthy (fake fault)` };
  }
}
