import { beforeEach, describe, expect, it } from 'vitest';
import * as pulumi from '@pulumi/pulumi';
import { installRecorder, resolve, settle } from '../testing/mocks.js';

const recorder = await installRecorder();
const k8s = await import('@pulumi/kubernetes');
const { OpenBao } = await import('./openbao.js');

const provider = () => new k8s.Provider('k8s', { kubeconfig: 'mock' });
const gcpSeal = { type: 'gcpckms' as const, project: 'acme-claw-prod', region: 'europe-west1', keyRing: 'claw-platform', cryptoKey: 'openbao-unseal' };

describe('OpenBao', () => {
  beforeEach(() => recorder.reset());

  it('runs HA raft with the gcpckms seal and Kubernetes auth bound to the runtime service accounts', async () => {
    const bao = new OpenBao('openbao', {
      provider: provider(), chartVersion: '0.19.0', seal: gcpSeal,
      serviceAccountAnnotations: { 'iam.gke.io/gcp-service-account': 'claw-openbao@acme-claw-prod.iam.gserviceaccount.com' },
    });
    await settle(recorder);
    const release = recorder.get('kubernetes:helm.sh/v3:Release', 'openbao-release');
    expect(release.inputs).toMatchObject({ chart: 'openbao', version: '0.19.0', namespace: 'openbao' });
    const server = release.inputs.values.server;
    expect(server.ha).toMatchObject({ enabled: true, replicas: 3, raft: { enabled: true } });
    const config: string = server.ha.raft.config;
    expect(config).toContain('storage "raft"');
    expect(config.match(/retry_join/g)).toHaveLength(3);
    expect(config).toMatch(/seal "gcpckms" \{\s+project = "acme-claw-prod"\s+region = "europe-west1"\s+key_ring = "claw-platform"\s+crypto_key = "openbao-unseal"/);
    expect(config).toContain('path = "sys/auth/kubernetes"');
    expect(config).toMatch(/bound_service_account_names = \["claw-worker", "claw-gateway"\]/);
    expect(config).not.toContain('claw-codec-server');
    expect(config).toMatch(/bound_service_account_namespaces = \["claw"\]/);
    expect(server.serviceAccount.annotations['iam.gke.io/gcp-service-account']).toContain('claw-openbao@');
    expect(release.inputs.values.injector.enabled).toBe(false);
    expect(await resolve(bao.address)).toBe('http://openbao.openbao.svc.cluster.local:8200');
    expect(bao.authRole).toBe('claw-runtime');
  });

  it('writes the awskms seal for EKS', async () => {
    new OpenBao('openbao', { provider: provider(), chartVersion: '0.19.0', seal: { type: 'awskms', region: 'eu-west-1', kmsKeyId: 'arn:aws:kms:eu-west-1:111122223333:key/1234' } });
    await settle(recorder);
    const config: string = recorder.get('kubernetes:helm.sh/v3:Release', 'openbao-release').inputs.values.server.ha.raft.config;
    expect(config).toMatch(/seal "awskms" \{\s+region = "eu-west-1"\s+kms_key_id = "arn:aws:kms:eu-west-1:111122223333:key\/1234"/);
    expect(config).not.toContain('gcpckms');
  });

  it('rejects a missing seal, an unpinned chart and an even replica count', () => {
    expect(() => new OpenBao('a', { provider: provider(), chartVersion: '0.19.0' } as never)).toThrow(pulumi.InputPropertyError);
    expect(() => new OpenBao('b', { provider: provider(), chartVersion: '', seal: gcpSeal })).toThrow(/chart/);
    expect(() => new OpenBao('c', { provider: provider(), chartVersion: '0.19.0', seal: gcpSeal, replicas: 4 })).toThrow(/odd/);
  });
});
