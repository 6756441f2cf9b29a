import { describe, expect, it } from 'vitest';
import { checkDestination, isInternalAddress } from './egress-proxy.js';

describe('egress proxy decisions', () => {
  it('classifies internal addresses: loopback, link-local/metadata, private, CGNAT, mapped IPv4, ULA', () => {
    for (const a of ['127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', 'not-an-ip']) {
      expect(isInternalAddress(a), a).toBe(true);
    }
    for (const a of ['140.82.112.6', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8']) expect(isInternalAddress(a), a).toBe(false);
  });

  it('refuses hosts not allowed before resolving them; allows an explicitly declared IP literal', async () => {
    const looked: string[] = [];
    const resolve = async (h: string) => (looked.push(h), ['140.82.112.6']);
    expect(await checkDestination({ allow: ['api.github.com'], resolve }, 'evil.test', 443)).toEqual({ host: 'evil.test', port: 443, reason: 'not-allowed' });
    expect(looked).toEqual([]);
    expect(await checkDestination({ allow: ['API.GitHub.com'], resolve }, 'api.github.com', 443)).toEqual({ address: '140.82.112.6' });
    expect(await checkDestination({ allow: ['api.github.com'], resolve }, 'api.github.com', 22)).toMatchObject({ reason: 'not-allowed' });
    expect(await checkDestination({ allow: ['10.1.2.3'] }, '10.1.2.3', 8443)).toEqual({ address: '10.1.2.3' });
    expect(await checkDestination({ allow: ['api.github.com'], resolve: async () => { throw new Error('NXDOMAIN'); } }, 'api.github.com', 443)).toMatchObject({ reason: 'unresolvable' });
  });
});
