import { beforeEach, describe, expect, it } from 'vitest';
import * as pulumi from '@pulumi/pulumi';
import { installRecorder, settle } from '../testing/mocks.js';

const recorder = await installRecorder();
const gcp = await import('@pulumi/gcp');
const k8s = await import('@pulumi/kubernetes');
const { GatewayIngress } = await import('./ingress.js');

const args = () => ({
  provider: new gcp.Provider('gcp', { project: 'acme-claw-prod', region: 'europe-west1' }),
  k8sProvider: new k8s.Provider('k8s', { kubeconfig: 'mock' }),
  domain: 'claw.acme.example', namespace: 'claw', gatewayService: 'gateway', codecServerService: 'codec-server',
});

describe('GatewayIngress', () => {
  beforeEach(() => recorder.reset());

  it('puts the gateway and codec-server behind GCLB with a managed certificate, TLS 1.2+ and no plain HTTP', async () => {
    const ing = new GatewayIngress('edge', args());
    await settle(recorder);
    expect(recorder.get('gcp:compute/managedSslCertificate:ManagedSslCertificate', 'edge-cert').inputs.managed.domains).toEqual(['claw.acme.example', 'codec.claw.acme.example']);
    expect(recorder.get('gcp:compute/sSLPolicy:SSLPolicy', 'edge-tls').inputs).toMatchObject({ minTlsVersion: 'TLS_1_2', profile: 'MODERN' });
    const ingress = recorder.get('kubernetes:networking.k8s.io/v1:Ingress', 'edge').inputs;
    expect(ingress.metadata.annotations).toMatchObject({
      'kubernetes.io/ingress.class': 'gce', 'kubernetes.io/ingress.allow-http': 'false',
      'kubernetes.io/ingress.global-static-ip-name': 'edge-ip', 'ingress.gcp.kubernetes.io/pre-shared-cert': 'edge-cert',
    });
    expect(ingress.spec.rules.map((r: any) => [r.host, r.http.paths[0].backend.service.name])).toEqual([
      ['claw.acme.example', 'gateway'], ['codec.claw.acme.example', 'codec-server'],
    ]);
    expect(recorder.get('kubernetes:networking.gke.io/v1beta1:FrontendConfig', 'edge-frontend').inputs.spec.sslPolicy).toBe('edge-tls');
    expect(ing.gatewayUrl).toBe('https://claw.acme.example');
    expect(ing.codecServerUrl).toBe('https://codec.claw.acme.example');
  });

  it('rejects a domain that is not a DNS name', () => {
    expect(() => new GatewayIngress('x', { ...args(), domain: 'https://claw.acme.example' })).toThrow(pulumi.InputPropertyError);
  });
});
