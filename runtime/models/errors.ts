/**
 * Model call failures. `retryable` and `retryAfterMs` drive the activity's retry policy,
 * so a provider's 429 with `retry-after` is honoured instead of hammered.
 */
import { ClawError } from '../../core/errors.js';

export class ModelError extends ClawError {
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly status?: number;

  constructor(code: string, message: string, options: { hint?: string; retryable: boolean; retryAfterMs?: number; status?: number; cause?: unknown }) {
    super(code, message, { hint: options.hint, cause: options.cause });
    this.name = 'ModelError';
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
    this.status = options.status;
  }
}

/** Delay a provider asks for: `retry-after-ms`, `retry-after` (seconds or HTTP date). */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const after = headers.get('retry-after');
  if (!after) return undefined;
  if (/^\d+(\.\d+)?$/.test(after.trim())) return Math.max(0, Number(after) * 1000);
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Turn a non-2xx provider response into a ModelError (the body is not echoed: it may quote the prompt). */
export async function httpError(provider: string, response: Response): Promise<ModelError> {
  let type = '';
  try {
    const body = (await response.json()) as { error?: { type?: string; code?: string } };
    type = body.error?.type ?? body.error?.code ?? '';
  } catch {
    // not JSON; the status says enough
  }
  const status = response.status;
  const retryable = status === 408 || status === 409 || status === 429 || status >= 500;
  const what = type ? `${status} ${type}` : String(status);
  if (status === 401 || status === 403) {
    return new ModelError('MODEL_AUTH_FAILED', `${provider} rejected the API key (${what})`, {
      hint: "set the tenant's key again with 'claw secrets set --tenant <id> <name>'",
      retryable: false,
      status,
    });
  }
  return new ModelError(retryable ? 'MODEL_UNAVAILABLE' : 'MODEL_REQUEST_REJECTED', `${provider} answered ${what}`, {
    hint: retryable ? 'the call is retried with backoff' : "check the agent's model settings",
    retryable,
    retryAfterMs: retryAfterMs(response.headers),
    status,
  });
}

export function networkError(provider: string, baseUrl: string, err: unknown): ModelError {
  return new ModelError('MODEL_UNREACHABLE', `${provider} is not reachable at ${new URL(baseUrl).host}`, {
    hint: "check the network or the model's baseUrl",
    retryable: true,
    cause: err,
  });
}

/**
 * Tool names are dotted (`time.now`); Anthropic and OpenAI allow only [a-zA-Z0-9_-] in
 * function names, so dots travel as '__' and come back through the request's tool list.
 */
export function wireToolName(name: string): string {
  return name.replaceAll('.', '__');
}

/** Wire name → tool name: the offered tools first; a name the model invents maps '__' back to '.'. */
export function toolNameResolver(tools: { name: string }[]): (wire: string) => string {
  const byWire = new Map(tools.map((t) => [wireToolName(t.name), t.name]));
  return (wire) => byWire.get(wire) ?? wire.replaceAll('__', '.');
}
