import { beforeEach, describe, expect, it } from 'vitest';
import * as pulumi from '@pulumi/pulumi';
import { installRecorder, resolve, settle } from '../testing/mocks.js';

const recorder = await installRecorder();
const gcp = await import('@pulumi/gcp');
const { MetadataDb } = await import('./database.js');
const provider = () => new gcp.Provider('gcp', { project: 'acme-claw-prod', region: 'europe-west1' });
const dbKey = 'projects/acme-claw-prod/locations/europe-west1/keyRings/claw-claw-platform/cryptoKeys/metadata-db';

describe('MetadataDb', () => {
  beforeEach(() => recorder.reset());

  it('is private-IP only, TLS-only, CMEK-encrypted, backed up, with separate databases and users', async () => {
    const p = provider();
    const peering = new gcp.compute.Network('peer-stand-in', {}, { provider: p });
    const db = new MetadataDb('claw-db', { provider: p, project: 'acme-claw-prod', region: 'europe-west1', networkId: 'net', privateServicesConnection: peering, kmsKeyId: dbKey });
    await settle(recorder);
    const instance = recorder.get('gcp:sql/databaseInstance:DatabaseInstance', 'claw-db').inputs;
    expect(instance.encryptionKeyName).toBe(dbKey);
    expect(instance.databaseVersion).toMatch(/^POSTGRES_/);
    expect(instance.settings.ipConfiguration).toMatchObject({ ipv4Enabled: false, privateNetwork: 'net', sslMode: 'ENCRYPTED_ONLY' });
    expect(instance.settings.backupConfiguration).toMatchObject({ enabled: true, pointInTimeRecoveryEnabled: true });
    expect(instance.deletionProtection).toBe(true);
    expect(recorder.ofType('gcp:sql/database:Database').map((d) => d.inputs.name).sort()).toEqual(['claw', 'temporal', 'temporal_visibility']);
    expect(recorder.ofType('gcp:sql/user:User').map((u) => u.inputs.name).sort()).toEqual(['claw', 'temporal']);
    const agentKey = recorder.get('gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember', 'claw-db-sql-agent-key').inputs;
    expect(agentKey).toMatchObject({ cryptoKeyId: dbKey, member: expect.stringMatching(/gcp-sa-sqladmin/) });
    expect(await resolve(db.host)).toBe('10.60.0.3');
    expect(pulumi.Output.isInstance(db.passwords.temporal)).toBe(true);
  });

  it('refuses an unencrypted instance', () => {
    const p = provider();
    expect(() => new MetadataDb('x', { provider: p, project: 'acme-claw-prod', region: 'europe-west1', networkId: 'n', privateServicesConnection: p, kmsKeyId: '' })).toThrow(pulumi.InputPropertyError);
  });
});
