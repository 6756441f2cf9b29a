import { beforeEach, describe, expect, it } from 'vitest';
import * as pulumi from '@pulumi/pulumi';
import { installRecorder, resolve, settle } from '../testing/mocks.js';

const recorder = await installRecorder();
const gcp = await import('@pulumi/gcp');
const { GkeCluster } = await import('./cluster.js');

const args = () => ({
  provider: new gcp.Provider('gcp', { project: 'acme-claw-prod', region: 'europe-west1' }),
  project: 'acme-claw-prod', region: 'europe-west1',
  networkId: 'net', subnetworkId: 'subnet', secretsKeyId: 'projects/p/locations/l/keyRings/r/cryptoKeys/gke-secrets',
  nodeServiceAccount: 'claw-nodes@acme-claw-prod.iam.gserviceaccount.com',
});

describe('GkeCluster', () => {
  beforeEach(() => recorder.reset());

  it('is private, Workload Identity enabled, NetworkPolicy-enforcing and encrypts secrets with the platform key', async () => {
    const c = new GkeCluster('claw', args());
    await settle(recorder);
    const cluster = recorder.get('gcp:container/cluster:Cluster', 'claw').inputs;
    expect(cluster.workloadIdentityConfig.workloadPool).toBe('acme-claw-prod.svc.id.goog');
    expect(cluster.privateClusterConfig.enablePrivateNodes).toBe(true);
    expect(cluster.datapathProvider).toBe('ADVANCED_DATAPATH');
    expect(cluster.databaseEncryption).toEqual({ state: 'ENCRYPTED', keyName: args().secretsKeyId });
    expect(cluster.removeDefaultNodePool).toBe(true);
    const kubeconfig = JSON.parse(await resolve(c.kubeconfig));
    expect(kubeconfig.clusters[0].cluster.server).toBe('https://10.0.0.2');
    expect(kubeconfig.users[0].user.exec.command).toBe('gke-gcloud-auth-plugin');
  });

  it('taints the gVisor sandbox pool and leaves the system pool untainted', async () => {
    new GkeCluster('claw', args());
    await settle(recorder);
    const sandbox = recorder.get('gcp:container/nodePool:NodePool', 'claw-sandbox').inputs.nodeConfig;
    expect(sandbox.sandboxConfig).toEqual({ type: 'GVISOR' });
    expect(sandbox.taints).toEqual([{ key: 'claw.dev/sandbox', value: 'gvisor', effect: 'NO_SCHEDULE' }]);
    expect(sandbox.labels).toEqual({ 'claw.dev/pool': 'sandbox' });
    const system = recorder.get('gcp:container/nodePool:NodePool', 'claw-system').inputs.nodeConfig;
    expect(system.taints).toBeUndefined();
    expect(system.sandboxConfig).toBeUndefined();
    expect(system.labels).toEqual({ 'claw.dev/pool': 'system' });
    for (const pool of [sandbox, system]) {
      expect(pool.workloadMetadataConfig).toEqual({ mode: 'GKE_METADATA' });
      expect(pool.serviceAccount).toBe(args().nodeServiceAccount);
    }
  });

  it('rejects an impossible pool size', () => {
    expect(() => new GkeCluster('x', { ...args(), sandboxPool: { min: 3, max: 1 } })).toThrow(pulumi.InputPropertyError);
  });
});
