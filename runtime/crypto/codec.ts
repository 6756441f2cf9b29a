/**
 * The Temporal payload codec. Every payload (workflow and activity arguments and results,
 * signals, queries, memos, failures' details) is serialized and envelope-encrypted under
 * one tenant's key with purpose 'payload'. What stays clear is what Temporal itself routes
 * on (workflow ids, types, task queues: not payloads) plus `encoding: binary/encrypted` and
 * the tenant id, so the codec server knows whose key to use.
 *
 * Whose key: the tenant that owns the workflow. Temporal hands the codec a serialization
 * context naming the workflow (or the activity's workflow) a payload belongs to, and every
 * claw workflow id starts with `<tenant>/`. So one codec serves every tenant on the shared
 * task queue: it seals a payload for the workflow's tenant and opens only what that
 * tenant's key sealed. The clear tenant label is never trusted — it must match the
 * workflow's tenant, and the envelope binds the tenant again (CIPHERTEXT_TENANT_MISMATCH).
 *
 * Decoding refuses a payload in the clear (a start or signal forged by anyone who can
 * reach Temporal), one labelled for another tenant, and one whose workflow names no
 * tenant. The refusal fails the task that carries it, so a forged input never reaches
 * workflow or activity code, and only that tenant's task fails.
 */
import type { Payload, PayloadCodec, SerializationContext } from '@temporalio/common';
// @temporalio/proto is CommonJS: Node's ESM loader only sees its default export.
import proto from '@temporalio/proto';
import { ClawError } from '../../core/errors.js';
import type { TenantCrypto, TenantKeyring } from '../ports.js';
import { tenantOfWorkflowId } from '../temporal/names.js';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** A payload the shared codec could not seal because its tenant's key is gone: its content was dropped, never stored in the clear. */
export const UNSEALABLE_ENCODING = 'binary/claw-unsealable';
/** Key errors that will not heal by retrying: the shared codec drops content it cannot seal rather than fail the whole Worker. */
const KEY_GONE = new Set(['TENANT_KEY_DESTROYED', 'TENANT_KEY_MISSING']);
const REASON_METADATA_KEY = 'claw-unsealable-reason';
/** Metadata key naming the tenant whose key encrypted the payload (routing metadata, clear). */
export const TENANT_METADATA_KEY = 'claw-tenant';

const { Payload: PayloadProto } = proto.temporal.api.common.v1;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();
const ENCRYPTED_ENCODING_BYTES = utf8.encode(ENCRYPTED_ENCODING);
const UNSEALABLE_ENCODING_BYTES = utf8.encode(UNSEALABLE_ENCODING);

/** The tenant a payload says it was encrypted for, or undefined if it is not encrypted. */
export function payloadTenant(payload: Payload): string | undefined {
  const encoding = payload.metadata?.encoding;
  if (!encoding || fromUtf8.decode(encoding) !== ENCRYPTED_ENCODING) return undefined;
  const tenant = payload.metadata?.[TENANT_METADATA_KEY];
  return tenant ? fromUtf8.decode(tenant) : '';
}

/** The tenant owning the workflow a serialization context names, or undefined. */
function contextTenant(context: SerializationContext | undefined): string | undefined {
  return context?.workflowId === undefined ? undefined : tenantOfWorkflowId(context.workflowId);
}

export class TenantPayloadCodec implements PayloadCodec {
  private readonly cryptos = new Map<string, Promise<TenantCrypto>>();

  /**
   * @param keys  the tenant's crypto (a keyring's `forTenant`)
   * @param bound the one tenant this codec may serve (a tenant's own client), or undefined
   *              for every tenant (the shared Worker), which then requires a context
   */
  constructor(
    private readonly keys: (tenantId: string) => Promise<TenantCrypto>,
    private readonly bound?: string,
  ) {}

  /** The crypto of the tenant owning this context's workflow, cached once resolved (a shred still fails it: the crypto revalidates). */
  private cryptoFor(context: SerializationContext | undefined): Promise<TenantCrypto> {
    const tenant = this.tenantFor(context);
    let crypto = this.cryptos.get(tenant);
    if (!crypto) {
      crypto = this.keys(tenant);
      this.cryptos.set(tenant, crypto);
      // A key that is missing now may exist later (`claw tenant add`): failures are not kept.
      crypto.catch(() => this.cryptos.delete(tenant));
    }
    return crypto;
  }

  private tenantFor(context: SerializationContext | undefined): string {
    const fromContext = contextTenant(context);
    if (context?.workflowId !== undefined && fromContext === undefined) {
      throw new ClawError('PAYLOAD_WORKFLOW_NOT_TENANT', `workflow '${context.workflowId}' names no tenant; its payloads are refused`, {
        hint: "claw workflow ids start with '<tenant>/': start runs with claw",
      });
    }
    if (this.bound !== undefined) {
      if (fromContext !== undefined && fromContext !== this.bound) {
        throw new ClawError('PAYLOAD_TENANT_MISMATCH', `tenant ${this.bound}'s codec was asked about workflow '${context!.workflowId}' of tenant '${fromContext}'`, {
          hint: "each tenant's runs are started with that tenant's client",
        });
      }
      return this.bound;
    }
    if (fromContext === undefined) {
      throw new ClawError('PAYLOAD_CONTEXT_MISSING', 'a payload reached the shared codec without the workflow it belongs to, so no tenant key can be chosen; it is refused', {
        hint: 'this is a claw defect: every workflow and activity payload carries its workflow',
      });
    }
    return fromContext;
  }

  async encode(payloads: Payload[], context?: SerializationContext): Promise<Payload[]> {
    if (payloads.length === 0) return [];
    try {
      const crypto = await this.cryptoFor(context);
      const tenantBytes = utf8.encode(crypto.tenantId);
      return await Promise.all(
        payloads.map(async (payload) => ({
          metadata: { encoding: ENCRYPTED_ENCODING_BYTES, [TENANT_METADATA_KEY]: tenantBytes },
          data: await crypto.encrypt(PayloadProto.encode(payload).finish(), 'payload'),
        })),
      );
    } catch (err) {
      // The shared Worker seals an activity's result or failure after its tenant was shredded:
      // throwing here stops the Worker for every tenant. The content is dropped instead (never
      // written in the clear), and decoding it says why.
      const code = (err as { code?: unknown }).code;
      if (this.bound !== undefined || typeof code !== 'string' || !KEY_GONE.has(code)) throw err;
      const tenant = utf8.encode(this.tenantFor(context));
      return payloads.map(() => ({ metadata: { encoding: UNSEALABLE_ENCODING_BYTES, [TENANT_METADATA_KEY]: tenant, [REASON_METADATA_KEY]: utf8.encode(code) } }));
    }
  }

  async decode(payloads: Payload[], context?: SerializationContext): Promise<Payload[]> {
    if (payloads.length === 0) return [];
    const expected = this.tenantFor(context);
    // Check every label before any key is touched: a forged payload fails the same way whether or not the tenant has a key here.
    for (const payload of payloads) {
      if (payload.metadata?.encoding && fromUtf8.decode(payload.metadata.encoding) === UNSEALABLE_ENCODING) {
        const reason = payload.metadata[REASON_METADATA_KEY] ? fromUtf8.decode(payload.metadata[REASON_METADATA_KEY]) : 'unknown';
        throw new ClawError('PAYLOAD_UNSEALABLE', `a payload of tenant ${expected} could not be sealed when it was written (${reason}), so its content was dropped`, {
          hint: "the tenant's key was destroyed or missing on the worker; restore the key (or the tenant is shredded, and its runs are over)",
        });
      }
      const tenant = payloadTenant(payload);
      if (tenant === undefined) {
        throw new ClawError('PAYLOAD_NOT_ENCRYPTED', `a payload for tenant ${expected} is not encrypted; it was not written by claw and is refused`, {
          hint: "start and signal runs with claw (or a client with the tenant's payload codec), never with a plain Temporal client",
        });
      }
      if (tenant !== expected) {
        throw new ClawError('PAYLOAD_TENANT_MISMATCH', `a payload labelled for tenant '${tenant}' reached tenant ${expected}'s workflow and is refused`, {
          hint: "each tenant's runs are started with that tenant's client",
        });
      }
      if (!payload.data) throw new ClawError('CIPHERTEXT_CORRUPT', 'an encrypted payload has no data', { hint: 'the workflow history was altered' });
    }
    const crypto = await this.cryptoFor(context);
    // The envelope itself binds the tenant; a mismatch fails there with CIPHERTEXT_TENANT_MISMATCH.
    return Promise.all(payloads.map(async (payload) => PayloadProto.decode(await crypto.decrypt(payload.data!, 'payload')) as Payload));
  }
}

/** The payload codec of one tenant (its clients; the codec server): refuses a context naming another tenant. */
export function tenantPayloadCodec(crypto: TenantCrypto): PayloadCodec {
  return new TenantPayloadCodec(async () => crypto, crypto.tenantId);
}

/** The payload codec of the shared Worker: each payload under the key of the tenant owning its workflow. */
export function keyringPayloadCodec(keyring: Pick<TenantKeyring, 'forTenant'>): PayloadCodec {
  return new TenantPayloadCodec((tenantId) => keyring.forTenant(tenantId));
}
