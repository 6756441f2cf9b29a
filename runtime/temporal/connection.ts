/**
 * Connecting to Temporal, and clients scoped to one tenant. A tenant client carries the
 * tenant's payload codec (DATA's runtime/crypto/codec.ts), so everything it sends to the
 * server is ciphertext under that tenant's key (DESIGN.md invariant 1).
 */
import { Client, Connection, type DataConverter } from '@temporalio/client';
import { defaultPayloadConverter, type PayloadCodec } from '@temporalio/common';
import { failureConverter } from './failure-converter.js';
import { ClawError } from '../../core/errors.js';
import { routeFor, workflowIdFor } from './names.js';

export const DEFAULT_NAMESPACE = 'default';

/**
 * What the client and the Worker connections dial with: an API key (Temporal Cloud) means
 * TLS and the key as the bearer token; without one, plaintext (the local dev server, a
 * self-hosted frontend inside the cluster).
 */
export function temporalDialOptions(address: string, apiKey?: string): { address: string; tls?: true; apiKey?: string } {
  return apiKey ? { address, tls: true, apiKey } : { address };
}

/**
 * Connect, or fail with PLATFORM_NOT_RUNNING. `hint` says how to bring the server up
 * (the local target's `claw up`; a cloud install's address in claw.yaml).
 */
export async function connectTemporal(
  address: string,
  options: { connectTimeoutMs?: number; hint?: string; apiKey?: string } = {},
): Promise<Connection> {
  try {
    return await Connection.connect({ ...temporalDialOptions(address, options.apiKey), connectTimeout: options.connectTimeoutMs ?? 3_000 });
  } catch (err) {
    throw new ClawError('PLATFORM_NOT_RUNNING', `Temporal is not reachable at ${address}`, {
      hint: options.hint ?? "start the platform with 'claw up'",
      cause: err,
    });
  }
}

export interface TenantClientOptions {
  namespace?: string;
  /** The tenant's payload codec(s); DATA's codec plugs in here. */
  payloadCodecs?: PayloadCodec[];
  /** The task queue its runs start on (default: the shared RUNTIME_TASK_QUEUE; tests use their own). */
  taskQueue?: string;
}

export interface TenantClient {
  readonly tenantId: string;
  readonly taskQueue: string;
  /** Spread into a start: the task queue and the tenant's fairness key. */
  readonly route: ReturnType<typeof routeFor>;
  readonly client: Client;
  /** `<tenant>/<parts...>` */
  workflowId(...parts: string[]): string;
}

/** With a codec, failure messages are encoded too (and so encrypted): see workflows/failure-converter.ts. */
export function tenantDataConverter(payloadCodecs: PayloadCodec[] | undefined): DataConverter | undefined {
  if (!payloadCodecs || payloadCodecs.length === 0) return undefined;
  // A loaded converter (the client takes one as is), so the CLI never require()s by path.
  return { payloadConverter: defaultPayloadConverter, failureConverter, payloadCodecs } as DataConverter;
}

/** A Temporal client for one tenant: its route (queue + fairness key), its workflow ids, its codec. */
export function tenantClient(connection: Connection, tenantId: string, options: TenantClientOptions = {}): TenantClient {
  const route = routeFor(tenantId, options.taskQueue);
  const client = new Client({
    connection,
    namespace: options.namespace ?? DEFAULT_NAMESPACE,
    dataConverter: tenantDataConverter(options.payloadCodecs),
  });
  return { tenantId, taskQueue: route.taskQueue, route, client, workflowId: (...parts) => workflowIdFor(tenantId, ...parts) };
}
