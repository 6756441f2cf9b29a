/**
 * The Temporal payload codec of one tenant (one task queue, Worker and Client per tenant,
 * each with its tenant's codec). Every payload (workflow and activity
 * arguments and results, signals, queries, memos, failures' details) is serialized and
 * envelope-encrypted under the tenant's key with purpose 'payload'. What stays clear is
 * what Temporal itself routes on (workflow ids, types, task queues: not payloads) plus
 * `encoding: binary/encrypted` and the tenant id, so the codec server knows whose key to use.
 *
 * Decoding refuses what this tenant's key did not seal: a payload in the clear (a start or
 * signal forged by anyone who can reach Temporal) or labelled for another tenant. The
 * refusal fails the task that carries it, so a forged input never reaches workflow or
 * activity code.
 */
import type { Payload, PayloadCodec } from '@temporalio/common';
// @temporalio/proto is CommonJS: Node's ESM loader only sees its default export.
import proto from '@temporalio/proto';
import { ClawError } from '../../core/errors.js';
import type { TenantCrypto } from '../ports.js';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** Metadata key naming the tenant whose key encrypted the payload (routing metadata, clear). */
export const TENANT_METADATA_KEY = 'claw-tenant';

const { Payload: PayloadProto } = proto.temporal.api.common.v1;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();
const ENCRYPTED_ENCODING_BYTES = utf8.encode(ENCRYPTED_ENCODING);

/** The tenant a payload says it was encrypted for, or undefined if it is not encrypted. */
export function payloadTenant(payload: Payload): string | undefined {
  const encoding = payload.metadata?.encoding;
  if (!encoding || fromUtf8.decode(encoding) !== ENCRYPTED_ENCODING) return undefined;
  const tenant = payload.metadata?.[TENANT_METADATA_KEY];
  return tenant ? fromUtf8.decode(tenant) : '';
}

export class TenantPayloadCodec implements PayloadCodec {
  private readonly tenantBytes: Uint8Array;

  constructor(private readonly crypto: TenantCrypto) {
    this.tenantBytes = utf8.encode(crypto.tenantId);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(
      payloads.map(async (payload) => ({
        metadata: { encoding: ENCRYPTED_ENCODING_BYTES, [TENANT_METADATA_KEY]: this.tenantBytes },
        data: await this.crypto.encrypt(PayloadProto.encode(payload).finish(), 'payload'),
      })),
    );
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(
      payloads.map(async (payload) => {
        const tenant = payloadTenant(payload);
        if (tenant === undefined) {
          throw new ClawError('PAYLOAD_NOT_ENCRYPTED', `a payload for tenant ${this.crypto.tenantId} is not encrypted; it was not written by claw and is refused`, {
            hint: "start and signal runs with claw (or a client with the tenant's payload codec), never with a plain Temporal client",
          });
        }
        if (tenant !== this.crypto.tenantId) {
          throw new ClawError('PAYLOAD_TENANT_MISMATCH', `a payload labelled for tenant '${tenant}' reached tenant ${this.crypto.tenantId}'s codec and is refused`, {
            hint: "each tenant's runs are started with that tenant's client",
          });
        }
        if (!payload.data) throw new ClawError('CIPHERTEXT_CORRUPT', 'an encrypted payload has no data', { hint: 'the workflow history was altered' });
        // The envelope itself binds the tenant; a mismatch fails there with CIPHERTEXT_TENANT_MISMATCH.
        const plain = await this.crypto.decrypt(payload.data, 'payload');
        return PayloadProto.decode(plain) as Payload;
      }),
    );
  }
}

/** The payload codec for one tenant: pass it to that tenant's Worker and Client data converter. */
export function tenantPayloadCodec(crypto: TenantCrypto): PayloadCodec {
  return new TenantPayloadCodec(crypto);
}
