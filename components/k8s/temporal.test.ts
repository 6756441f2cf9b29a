import { beforeEach, describe, expect, it } from 'vitest';
import * as pulumi from '@pulumi/pulumi';
import { installRecorder, resolve, settle } from '../testing/mocks.js';

const recorder = await installRecorder();
const k8s = await import('@pulumi/kubernetes');
const { Temporal } = await import('./temporal.js');

const provider = () => new k8s.Provider('k8s', { kubeconfig: 'mock' });
const selfHosted = { mode: 'self-hosted' as const };
const versions = { chartVersion: '0.66.0', serverVersion: '1.29.1' };

describe('Temporal', () => {
  beforeEach(() => recorder.reset());

  it('installs the pinned chart with Postgres persistence in separate databases, TLS on, password from a Secret', async () => {
    const t = new Temporal('temporal', {
      provider: provider(), mode: selfHosted, ...versions,
      postgres: { host: '10.60.0.3', user: 'temporal', password: 'pw-not-in-values' },
    });
    await settle(recorder);
    const release = recorder.get('kubernetes:helm.sh/v3:Release', 'temporal-release');
    expect(release.inputs.chart).toBe('temporal');
    expect(release.inputs.version).toBe('0.66.0');
    expect(release.inputs.repositoryOpts.repo).toBe('https://go.temporal.io/helm-charts');
    const values = release.inputs.values;
    const { default: main, visibility } = values.server.config.persistence;
    expect(main.sql).toMatchObject({ driver: 'postgres12', host: '10.60.0.3', database: 'temporal', existingSecret: 'temporal-db', tls: { enabled: true } });
    expect(visibility.sql).toMatchObject({ driver: 'postgres12', database: 'temporal_visibility', existingSecret: 'temporal-db' });
    expect(values.server.image.tag).toBe('1.29.1');
    for (const bundled of ['cassandra', 'mysql', 'postgresql', 'elasticsearch', 'prometheus', 'grafana']) expect(values[bundled].enabled).toBe(false);
    // The password lives only in the Secret, never in the chart values.
    expect(JSON.stringify(values)).not.toContain('pw-not-in-values');
    const secret = recorder.get('kubernetes:core/v1:Secret', 'temporal-db');
    expect(secret.inputs.metadata).toMatchObject({ name: 'temporal-db', namespace: 'temporal' });
    expect(await resolve(t.address)).toBe('temporal-frontend.temporal.svc.cluster.local:7233');
    expect(await resolve(t.namespace)).toBe('default');
  });

  it('uses an existing password Secret when named', async () => {
    new Temporal('temporal', { provider: provider(), mode: selfHosted, ...versions, postgres: { host: 'db', user: 'temporal', passwordSecretName: 'rds-temporal' } });
    await settle(recorder);
    expect(recorder.ofType('kubernetes:core/v1:Secret')).toHaveLength(0);
    const values = recorder.get('kubernetes:helm.sh/v3:Release', 'temporal-release').inputs.values;
    expect(values.server.config.persistence.default.sql.existingSecret).toBe('rds-temporal');
  });

  it('declares nothing for Temporal Cloud and points at the cloud namespace', async () => {
    const t = new Temporal('temporal', {
      provider: provider(), ...versions,
      mode: { mode: 'cloud', namespace: 'acme.a1b2c', address: 'acme.a1b2c.tmprl.cloud:7233', apiKeySecret: 'temporal-cloud-api-key' },
    });
    await settle(recorder);
    expect(recorder.resources.filter((r) => r.custom && !r.type.startsWith('pulumi:providers'))).toHaveLength(0);
    expect(await resolve(t.address)).toBe('acme.a1b2c.tmprl.cloud:7233');
    expect(await resolve(t.namespace)).toBe('acme.a1b2c');
    expect(t.apiKeySecret).toBe('temporal-cloud-api-key');
  });

  it('rejects self-hosted without a database, or with both password forms', () => {
    expect(() => new Temporal('a', { provider: provider(), mode: selfHosted, ...versions })).toThrow(pulumi.InputPropertyError);
    expect(() => new Temporal('b', { provider: provider(), mode: selfHosted, ...versions, postgres: { host: 'h', user: 'u', password: 'p', passwordSecretName: 's' } })).toThrow(/exactly one/);
    expect(() => new Temporal('c', { provider: provider(), mode: selfHosted, chartVersion: 'latest', serverVersion: '1', postgres: { host: 'h', user: 'u', password: 'p' } })).toThrow(/chartVersion|pin/);
  });
});
