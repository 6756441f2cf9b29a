import { beforeEach, describe, expect, it } from 'vitest';
import * as pulumi from '@pulumi/pulumi';
import { installRecorder, resolve, settle } from '../testing/mocks.js';

const recorder = await installRecorder();
const k8s = await import('@pulumi/kubernetes');
const { SandboxNamespace } = await import('./sandbox.js');
const { SANDBOX_TAINT, sandboxPodScheduling } = await import('../../contracts/kubernetes.js');

describe('SandboxNamespace', () => {
  beforeEach(() => recorder.reset());
  const provider = () => new k8s.Provider('k8s', { kubeconfig: 'mock' });

  it('declares a restricted namespace, the gvisor RuntimeClass with the sandbox taint toleration, and default-deny policies', async () => {
    const sandbox = new SandboxNamespace('sbx', { provider: provider() });
    await settle(recorder);
    expect(await resolve(sandbox.namespace)).toBe('claw-sandbox');

    const ns = recorder.get('kubernetes:core/v1:Namespace', 'sbx-ns');
    expect(ns.inputs.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');

    const rc = recorder.get('kubernetes:node.k8s.io/v1:RuntimeClass', 'sbx-runtimeclass');
    expect(rc.inputs.metadata.name).toBe('gvisor');
    expect(rc.inputs.handler).toBe('runsc');
    expect(rc.inputs.scheduling.tolerations).toEqual([{ key: 'claw.dev/sandbox', operator: 'Equal', value: 'gvisor', effect: 'NoSchedule' }]);
    expect(rc.inputs.scheduling.nodeSelector).toEqual({ 'claw.dev/pool': 'sandbox' });

    const policies = recorder.ofType('kubernetes:networking.k8s.io/v1:NetworkPolicy');
    expect(policies.map((p) => [p.inputs.metadata.name, p.inputs.metadata.namespace, p.inputs.spec.policyTypes, p.inputs.spec.podSelector])).toEqual([
      ['default-deny-ingress', 'claw-sandbox', ['Ingress'], {}],
      ['default-deny-egress', 'claw-sandbox', ['Egress'], {}],
    ]);
    // A deny-all policy has no allow rules at all.
    for (const p of policies) expect(p.inputs.spec.ingress ?? p.inputs.spec.egress).toBeUndefined();

    const sa = recorder.get('kubernetes:core/v1:ServiceAccountPatch', 'sbx-default-sa');
    expect(sa.inputs.automountServiceAccountToken).toBe(false);

    // Every child went through the explicit provider.
    const children = recorder.resources.filter((r) => r.type.startsWith('kubernetes:') && r.custom && r.type !== 'pulumi:providers:kubernetes');
    expect(children.length).toBe(5);
    for (const c of children) expect(c.provider).toMatch(/pulumi:providers:kubernetes::k8s::/);
  });

  it('uses the gvisor handler on GKE and takes over the GKE-managed RuntimeClass', async () => {
    new SandboxNamespace('sbx', { provider: provider(), handler: 'gvisor' });
    await settle(recorder);
    const rc = recorder.get('kubernetes:node.k8s.io/v1:RuntimeClass', 'sbx-runtimeclass');
    expect(rc.inputs.handler).toBe('gvisor');
    expect(rc.inputs.metadata.annotations['pulumi.com/patchForce']).toBe('true');
  });

  it('rejects a missing provider or an unknown handler before declaring anything', () => {
    expect(() => new SandboxNamespace('x', {} as never)).toThrow(pulumi.InputPropertyError);
    expect(() => new SandboxNamespace('y', { provider: provider(), handler: 'kata' as never })).toThrow(/handler/);
  });

  it('sandbox pod scheduling matches the pool taint exactly', () => {
    const s = sandboxPodScheduling();
    expect(s.tolerations[0]).toMatchObject(SANDBOX_TAINT);
    expect(s.automountServiceAccountToken).toBe(false);
    expect(s.runtimeClassName).toBe('gvisor');
  });
});
