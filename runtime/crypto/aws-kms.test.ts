/**
 * The aws-kms backend's failure handling, against a loopback KMS endpoint that answers
 * with chosen faults (moto cannot throttle, nor refuse a key pending deletion on Decrypt).
 * Its behaviour on moto's real KMS API is in aws-kms.int.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvelopeKeyring } from './index.js';
import { AwsKmsBackend, type AwsKmsKeyringOptions } from './aws-kms.js';
import { failureOf } from './testing/keyring-contract.js';
import { FAKE_KEY_ARN, startKmsFaultServer, type KmsFaultServer } from './testing/kms-fault-server.js';

let kms: KmsFaultServer;
beforeAll(async () => {
  kms = await startKmsFaultServer();
});
afterAll(async () => {
  await kms?.close();
});

const retry = { attempts: 4, baseDelayMs: 20, maxDelayMs: 80 };
const throttled = { error: 'ThrottlingException', message: 'Rate exceeded' };

function keyring(options: Partial<AwsKmsKeyringOptions> = {}): EnvelopeKeyring {
  return new EnvelopeKeyring(
    new AwsKmsBackend({
      region: 'us-east-1',
      endpoint: kms.endpoint,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      keys: { acme: FAKE_KEY_ARN },
      retry,
      stateCheckMs: 60_000,
      ...options,
    }),
  );
}

/** Run `fn` and return the KMS operations it caused. */
async function operationsDuring(fn: () => Promise<unknown>): Promise<string[]> {
  const start = kms.operations.length;
  await fn();
  return kms.operations.slice(start);
}

describe('aws-kms failures (loopback KMS fault server)', () => {
  it('ThrottlingException on GenerateDataKey: a bounded number of attempts with backoff, then KMS_THROTTLED', async () => {
    const crypto = await keyring().forTenant('acme');
    kms.answer('GenerateDataKey', throttled);
    let failure = { code: '', text: '' };
    const started = Date.now();
    const ops = await operationsDuring(async () => {
      failure = await failureOf(crypto.encrypt(Buffer.from('x'), 'payload'));
    });
    kms.answer('GenerateDataKey', undefined);
    expect(failure.code).toBe('KMS_THROTTLED');
    expect(failure.text).toContain(`${retry.attempts} attempts`);
    expect(ops).toEqual(Array(retry.attempts).fill('GenerateDataKey'));
    // Backoff happened: at least half of each of the three ceilings (20, 40, 80 ms).
    expect(Date.now() - started).toBeGreaterThanOrEqual((20 + 40 + 80) / 2);
    // And the same crypto object recovers once KMS does: the failure is not cached.
    const sealed = await crypto.encrypt(Buffer.from('after the storm'), 'payload');
    expect(Buffer.from(await crypto.decrypt(sealed, 'payload')).toString()).toBe('after the storm');
  });

  it('a short burst of throttling is absorbed by the retry', async () => {
    const crypto = await keyring().forTenant('acme');
    kms.answer('GenerateDataKey', throttled, 2);
    const ops = await operationsDuring(() => crypto.encrypt(Buffer.from('y'), 'payload'));
    expect(ops).toEqual(['GenerateDataKey', 'GenerateDataKey', 'GenerateDataKey']);
  });

  it('ThrottlingException on Decrypt (inside the ESDK unwrap) is still KMS_THROTTLED after bounded attempts', async () => {
    const sealed = await (await keyring().forTenant('acme')).encrypt(Buffer.from('z'), 'blob');
    const cold = await keyring().forTenant('acme');
    kms.answer('Decrypt', throttled);
    let failure = { code: '', text: '' };
    const ops = await operationsDuring(async () => {
      failure = await failureOf(cold.decrypt(sealed, 'blob'));
    });
    kms.answer('Decrypt', undefined);
    expect(failure.code).toBe('KMS_THROTTLED');
    expect(ops).toEqual(Array(retry.attempts).fill('Decrypt'));
  });

  it('KMSInvalidStateException (key pending deletion) on Decrypt is TENANT_KEY_DESTROYED', async () => {
    const sealed = await (await keyring().forTenant('acme')).encrypt(Buffer.from('plain-marker-42'), 'blob');
    const cold = await keyring().forTenant('acme');
    kms.answer('Decrypt', { error: 'KMSInvalidStateException', message: `${FAKE_KEY_ARN} is pending deletion.` });
    const failure = await failureOf(cold.decrypt(sealed, 'blob'));
    kms.answer('Decrypt', undefined);
    expect(failure.code).toBe('TENANT_KEY_DESTROYED');
    expect(failure.text).not.toContain('plain-marker-42');
  });

  it('AccessDeniedException is KMS_ACCESS_DENIED naming the key; NotFoundException is TENANT_KEY_MISSING', async () => {
    const crypto = await keyring().forTenant('acme');
    kms.answer('GenerateDataKey', { error: 'AccessDeniedException', message: 'User is not authorized to perform: kms:GenerateDataKey' });
    const denied = await failureOf(crypto.encrypt(Buffer.from('x'), 'payload'));
    kms.answer('GenerateDataKey', undefined);
    expect(denied.code).toBe('KMS_ACCESS_DENIED');
    expect(denied.text).toContain(FAKE_KEY_ARN);
    expect(denied.text).not.toContain('testing'); // no credential of any kind

    kms.answer('DescribeKey', { error: 'NotFoundException', message: 'Key does not exist' });
    const missing = await failureOf(keyring().forTenant('acme'));
    kms.answer('DescribeKey', undefined);
    expect(missing.code).toBe('TENANT_KEY_MISSING');
  });

  it('a KMS that keeps failing with 5xx is KMS_UNAVAILABLE after the bounded retry, and the cause carries no signed request', async () => {
    kms.answer('DescribeKey', { error: 'KMSInternalException', message: 'internal', status: 500 });
    let cause: unknown;
    const ops = await operationsDuring(async () => {
      try {
        await keyring().forTenant('acme');
      } catch (err) {
        expect((err as { code: string }).code).toBe('KMS_UNAVAILABLE');
        cause = (err as Error).cause;
      }
    });
    kms.answer('DescribeKey', undefined);
    expect(ops).toEqual(Array(retry.attempts).fill('DescribeKey'));
    expect(JSON.stringify(cause)).not.toMatch(/authorization|Signature=|Credential=/i);
    expect(Object.keys(cause as object)).not.toContain('$response');
  });

  it('refuses a BYOK key that is not an ARN, before any KMS call', () => {
    expect(() => keyring({ keys: { acme: 'my-key' } })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});
