/**
 * Attack on the cloud targets' sandbox egress: a program tool is granted a host name whose
 * DNS answer the attacker controls, and points it at what lives inside the cluster (the
 * Temporal frontend's pod IP), the cloud's metadata service, or loopback. On aws/gcp a
 * grant becomes the /32s a per-call NetworkPolicy opens (runtime/sandbox/kubernetes.ts),
 * so the answer itself would become the hole. The resolver is injected: nothing is
 * resolved or contacted. No cluster enforces the policy here (no kubelet or CNI); what is
 * asserted is the policy object the worker would create.
 */
import { describe, expect, it } from 'vitest';
import { egressCidrs } from '../../runtime/sandbox/egress-proxy.js';
import { sandboxNetworkPolicy } from '../../runtime/sandbox/kubernetes.js';

const TEMPORAL_POD_IP = '10.0.12.7';
const dns = (answers: Record<string, string[]>) => async (host: string) => answers[host] ?? [];
const job = { tenantId: 'acme', tool: 'gh', callId: 'run-1/1/call-1', image: 'worker', command: ['/bin/tool'], args: {} };
const openedCidrs = (cidrs: string[]) => (sandboxNetworkPolicy({ ...job, egressCidrs: cidrs })?.spec?.egress ?? []).flatMap((rule) => (rule.to ?? []).map((peer) => peer.ipBlock?.cidr)).filter(Boolean);

describe('a granted name pointed inside the cluster opens nothing there', () => {
  it('a public answer opens exactly its /32', async () => {
    const { cidrs, denied } = await egressCidrs(['api.github.com'], dns({ 'api.github.com': ['140.82.112.3', '140.82.112.4'] }));
    expect(cidrs).toEqual(['140.82.112.3/32', '140.82.112.4/32']);
    expect(denied).toEqual([]);
  });

  it.each([
    ['the Temporal frontend pod IP', [TEMPORAL_POD_IP]],
    ['a rebinding answer mixing in the pod IP', ['140.82.112.3', TEMPORAL_POD_IP]],
    ['the cloud metadata service', ['169.254.169.254']],
    ['loopback', ['127.0.0.1']],
    ['a private IPv6 address', ['fd00::7']],
    ['an IPv4-mapped private address', [`::ffff:${TEMPORAL_POD_IP}`]],
  ])('%s: no CIDR at all, and the refusal is reported for the trace', async (_, answer) => {
    const { cidrs, denied } = await egressCidrs(['api.github.com'], dns({ 'api.github.com': answer }));
    expect(cidrs).toEqual([]);
    expect(denied).toEqual([expect.objectContaining({ host: 'api.github.com', port: 443, reason: 'private-address' })]);
    // No policy is created, so the namespace's default-deny egress stands.
    expect(sandboxNetworkPolicy({ ...job, egressCidrs: cidrs })).toBeUndefined();
  });

  it('one bad grant does not taint another; an IP literal declared as such is the operator’s explicit choice', async () => {
    const { cidrs, denied } = await egressCidrs(['evil.example', 'api.github.com', '10.20.0.5'], dns({ 'evil.example': [TEMPORAL_POD_IP], 'api.github.com': ['140.82.112.3'] }));
    expect(cidrs).toEqual(['140.82.112.3/32', '10.20.0.5/32']);
    expect(denied.map((d) => d.host)).toEqual(['evil.example']);
    expect(openedCidrs(cidrs)).not.toContain(`${TEMPORAL_POD_IP}/32`);
  });

  it('a name that does not resolve opens nothing', async () => {
    const { cidrs, denied } = await egressCidrs(['nowhere.example'], dns({}));
    expect(cidrs).toEqual([]);
    expect(denied).toEqual([expect.objectContaining({ reason: 'unresolvable' })]);
  });
});
