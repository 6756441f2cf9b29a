import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../core/config/load.js';
import { clusterStack, readClusterInputs } from './cluster.js';

const dir = mkdtempSync(join(tmpdir(), 'claw-cluster-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (value: unknown, name = 'cluster.json') => {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
};
const good = {
  kubeconfig: 'kubeconfig.yaml',
  database: { host: 'db.internal', name: 'claw', user: 'claw', passwordSecretName: 'claw-db-password' },
  tenants: [{ id: 'acme', keyRef: 'arn:aws:kms:eu-west-1:123456789012:key/1b4f2c8e-4d7a-4f0e-9c1a-2b3c4d5e6f70', bucket: 'claw-prod-acme' }],
};

describe('the cluster file (CLAW_CLUSTER)', () => {
  it('reads the kubeconfig beside it and fills defaults', () => {
    writeFileSync(join(dir, 'kubeconfig.yaml'), 'apiVersion: v1\nkind: Config\nclusters: []\n');
    const inputs = readClusterInputs(file(good));
    expect(inputs).toMatchObject({ sandboxHandler: 'runsc', awaitWorkloads: true, kubeconfigYaml: expect.stringContaining('kind: Config') });
  });

  it('one CLUSTER_INPUTS_INVALID naming the field, for bad JSON, a missing field or an unknown one', () => {
    expect(() => readClusterInputs(file('{ not json'))).toThrow(expect.objectContaining({ code: 'CLUSTER_INPUTS_INVALID', message: expect.stringContaining('is not readable JSON') }));
    expect(() => readClusterInputs(file({ ...good, database: { ...good.database, passwordSecretName: undefined } }))).toThrow(expect.objectContaining({ code: 'CLUSTER_INPUTS_INVALID', message: expect.stringContaining('database.passwordSecretName') }));
    expect(() => readClusterInputs(file({ ...good, sandboxHandler: 'runc' }))).toThrow(expect.objectContaining({ message: expect.stringContaining('sandboxHandler') }));
    expect(() => readClusterInputs(file({ ...good, password: 'x' }))).toThrow(expect.objectContaining({ code: 'CLUSTER_INPUTS_INVALID' }));
  });

  it('refuses self-hosted Temporal, and a tenant of claw.yaml the file does not describe, before declaring anything', async () => {
    const inputs = readClusterInputs(file(good));
    const base = 'name: prod\ntarget: aws\naws: { region: eu-west-1 }\ntenants:\n  - { id: acme, name: Acme }\n  - { id: globex, name: Globex }\n';
    await expect(clusterStack(parseConfig(base, 'claw.yaml'), inputs)).rejects.toMatchObject({ code: 'CLUSTER_INPUTS_INVALID', message: expect.stringContaining('Temporal Cloud') });
    const cloud = `${base}temporal: { mode: cloud, namespace: n.a, address: n.a.tmprl.cloud:7233, apiKeySecret: temporal-key }\n`;
    await expect(clusterStack(parseConfig(cloud, 'claw.yaml'), inputs)).rejects.toMatchObject({ code: 'CLUSTER_INPUTS_INVALID', message: expect.stringContaining("'globex'") });
  });
});
