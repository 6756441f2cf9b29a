/**
 * The runtime's ports (DESIGN.md invariant 5): one interface per concern, one adapter
 * per target. Workflows and activities depend on these, never on an adapter.
 *
 * Adapters live beside their port (runtime/crypto, runtime/blobs, runtime/secrets,
 * runtime/authz, runtime/sandbox, runtime/traces); `runtime/targets` picks them
 * from claw.yaml's target.
 */

// ------------------------------------------------------------------ tenant keys

/**
 * A tenant's root of trust. Data is encrypted under data keys wrapped by the tenant's
 * root key, bound by an encryption context that names the tenant and the purpose.
 */
export type { Purpose } from '../contracts/encryption.js';
import type { Purpose } from '../contracts/encryption.js';

export interface TenantCrypto {
  readonly tenantId: string;
  /** Envelope-encrypt `plaintext`; the result carries its wrapped data key and context. */
  encrypt(plaintext: Uint8Array, purpose: Purpose): Promise<Uint8Array>;
  /** Decrypt; fails closed (ClawError) on another tenant's data, a wrong purpose, corruption or a destroyed key. */
  decrypt(ciphertext: Uint8Array, purpose: Purpose): Promise<Uint8Array>;
  /** Streaming form (framed envelope) for large data: memory stays at about one frame. (DATA, additive) */
  encryptStream(plaintext: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, purpose: Purpose): AsyncIterable<Uint8Array>;
  /** Decrypt a framed envelope; fails closed on truncation, reordering or damage. (DATA, additive) */
  decryptStream(ciphertext: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, purpose: Purpose): AsyncIterable<Uint8Array>;
}

export interface TenantKeyring {
  /** Crypto for one tenant; throws ClawError TENANT_KEY_DESTROYED after shredding. */
  forTenant(tenantId: string): Promise<TenantCrypto>;
  /** Create the tenant's root key (idempotent). */
  createTenantKey(tenantId: string): Promise<void>;
  /** New data keys from now on; old ciphertext stays readable. */
  rotate(tenantId: string): Promise<void>;
  /** Destroy the root key: every ciphertext of the tenant becomes unreadable. */
  destroy(tenantId: string): Promise<void>;
}

// ------------------------------------------------------------------ secrets

export interface SecretStore {
  /** The secret's value, or undefined. Values never go to logs, errors or traces. */
  get(tenantId: string, name: string): Promise<string | undefined>;
  set(tenantId: string, name: string, value: string): Promise<void>;
  /** Names only, never values. */
  list(tenantId: string): Promise<string[]>;
  /** Names and when each last changed (never values), where the store keeps it. */
  listChanged?(tenantId: string): Promise<{ name: string; updatedAt: string }[]>;
  remove(tenantId: string, name: string): Promise<boolean>;
}

// ------------------------------------------------------------------ blobs

export interface BlobStore {
  put(tenantId: string, key: string, body: AsyncIterable<Uint8Array> | Uint8Array): Promise<{ size: number }>;
  get(tenantId: string, key: string): Promise<AsyncIterable<Uint8Array>>;
  delete(tenantId: string, key: string): Promise<void>;
  list(tenantId: string, prefix?: string): Promise<string[]>;
}

// ------------------------------------------------------------------ authorization

export interface ToolCallRequest {
  tenantId: string;
  agentId: string;
  runId: string;
  tool: string;
  args: Record<string, unknown>;
  channel?: string;
  /** Budget state of the run at the time of the call. */
  budget?: { stepsUsed: number; tokensUsed: number };
}

export interface DeterminingPolicy {
  id: string;
  /** Cedar annotations of the policy (`@id`, `@reason`, `@approval`, ...). */
  annotations: Record<string, string>;
}

export interface AuthorizationDecision {
  decision: 'allow' | 'deny';
  /** A human must approve before the call runs (a policy annotated so). */
  requiresApproval: boolean;
  determining: DeterminingPolicy[];
  errors: string[];
  /** What shadow (log-only) policies would have decided, recorded, never enforced. */
  shadow?: { decision: 'allow' | 'deny'; determining: DeterminingPolicy[] };
}

export interface Authorizer {
  authorize(request: ToolCallRequest): Promise<AuthorizationDecision>;
}

// ------------------------------------------------------------------ tool execution

export interface ToolResult {
  ok: boolean;
  /** What the model sees: scrubbed of every secret value the broker handed out. */
  output: unknown;
  error?: { code: string; message: string };
  /** Which sandbox ran it, for the trace ('isolate', 'bubblewrap', 'kubernetes', 'none'). */
  sandbox: string;
  durationMs: number;
}

export interface ToolExecutor {
  /** Runs an authorized call; `idempotencyKey` is derived from (run, step). */
  execute(request: ToolCallRequest & { callId: string; idempotencyKey: string }): Promise<ToolResult>;
}

// ------------------------------------------------------------------ traces

/** One step of a run, following the OpenTelemetry GenAI conventions (see runtime/traces). */
export interface TraceEvent {
  tenantId: string;
  agentId: string;
  runId: string;
  /** Monotonic within a run. */
  seq: number;
  time: string;
  kind: 'run.start' | 'ask' | 'model.call' | 'tool.call' | 'tool.result' | 'approval' | 'reply' | 'run.end' | 'error';
  /** Queryable metadata (gen_ai.* and claw.* attributes); never content. */
  attributes: Record<string, string | number | boolean | string[] | null>;
  /** Content (prompts, completions, arguments, results); encrypted at rest under the tenant key. */
  content?: unknown;
}

export interface TraceSink {
  emit(events: TraceEvent[]): Promise<void>;
}
