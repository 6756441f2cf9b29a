/**
 * Trace events as OpenTelemetry spans, sent to an OTLP/HTTP endpoint (a customer's
 * collector, Grafana, Honeycomb, ...) beside the lake. Plugs into
 * `TraceWriterOptions.exporters`: `export()` never blocks or throws into `emit`; spans
 * are queued and sent in batches by the SDK's BatchSpanProcessor; `shutdown()` flushes.
 *
 * Mapping: a run is a trace (trace id derived from tenant + run id, so every batch of
 * the same run lands in the same trace, across workers and retries); each event is a
 * span (span id derived from the event's identity: tenant, run, seq, kind, attempt),
 * parented to the run's root span, which is the `run.start` event (`invoke_agent`).
 * Span names follow the GenAI conventions (`chat <model>`, `execute_tool <tool>`,
 * `invoke_agent <agent>`); attributes are the event's own `gen_ai.*` and `claw.*`
 * metadata plus `claw.event.kind` / `claw.event.seq`. A model or tool call's span starts
 * `claw.duration_ms` before the event's time (events are emitted when the step ends).
 *
 * Content (prompts, completions, tool arguments and results, asks and replies) is LEFT
 * OUT unless `contentFor(tenantId)` says the tenant opted in; then it goes into the
 * conventions' content attributes (`gen_ai.input.messages`, `gen_ai.output.messages`,
 * `gen_ai.tool.call.arguments`, `gen_ai.tool.call.result`) as JSON. Even then, values
 * under secret-looking keys (token, password, authorization, api key, secret, ...) are
 * replaced by "[redacted]" and every form of the secrets `secrets(tenantId)` lists is
 * scrubbed by the broker's Scrubber before they leave the process — the credential broker scrubs results already; this is the second
 * line (DESIGN.md invariant 3).
 */
import { createHash } from 'node:crypto';
import { SpanKind, SpanStatusCode, TraceFlags, type Attributes, type HrTime, type SpanContext } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { Scrubber, type ScrubSecret } from '../broker/scrub.js';
import type { TraceEvent } from '../ports.js';
import { CLAW, GEN_AI, GEN_AI_OPERATION } from './model.js';

export interface OtlpTraceExporterOptions {
  /** The OTLP/HTTP traces endpoint, e.g. `https://otel.example.com/v1/traces`. */
  url: string;
  /** Sent with every export (e.g. the collector's API key header). Never logged. */
  headers?: Record<string, string>;
  /** Which tenants' runs are exported at all (default: every tenant). */
  tenants?: (tenantId: string) => boolean;
  /** Whether a tenant opted in to exporting content (default: nobody). */
  contentFor?: (tenantId: string) => boolean;
  /** A tenant's secrets (names and values): every form of a value is scrubbed from content (runtime/broker/scrub.ts). */
  secrets?: (tenantId: string) => ScrubSecret[];
  /** `service.name` of the resource (default `claw-worker`). */
  serviceName?: string;
  /** Extra resource attributes (e.g. `deployment.environment`). */
  resource?: Attributes;
  timeoutMillis?: number;
  /** Batching of the span processor. */
  scheduledDelayMillis?: number;
  maxExportBatchSize?: number;
  maxQueueSize?: number;
  /** Tests: another SpanExporter instead of OTLP/HTTP. */
  exporter?: SpanExporter;
}

const SCOPE = { name: 'claw.traces', version: '1' };
const REDACTED = '[redacted]';
/** Keys whose values are credentials wherever they appear in content. */
const SECRET_KEY = /(secret|token|passw(or)?d|authori[sz]ation|api[-_]?key|credential|private[-_]?key|cookie|session)/i;

const digest = (...parts: (string | number)[]) => createHash('sha256').update(parts.join('\u0000')).digest('hex');

/** Trace id of a run: 16 bytes, hex, never all zero. */
export function traceIdOf(tenantId: string, runId: string): string {
  return nonZero(digest('claw-trace', tenantId, runId).slice(0, 32));
}

/** Span id of the run's root span (its `run.start` event). */
export function rootSpanIdOf(tenantId: string, runId: string): string {
  return nonZero(digest('claw-run-root', tenantId, runId).slice(0, 16));
}

export function spanIdOf(event: TraceEvent): string {
  if (event.kind === 'run.start') return rootSpanIdOf(event.tenantId, event.runId);
  const attempt = event.attributes[CLAW.attempt] ?? '';
  return nonZero(digest('claw-span', event.tenantId, event.runId, event.seq, event.kind, String(attempt)).slice(0, 16));
}

function nonZero(hex: string): string {
  return /^0+$/.test(hex) ? `${hex.slice(0, -1)}1` : hex;
}

function hrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

function spanName(event: TraceEvent): string {
  const operation = event.attributes[GEN_AI.operationName];
  if (event.kind === 'model.call') return `${GEN_AI_OPERATION.chat} ${event.attributes[GEN_AI.requestModel] ?? ''}`.trim();
  if (event.kind === 'tool.call' || event.kind === 'tool.result') return `${GEN_AI_OPERATION.executeTool} ${event.attributes[GEN_AI.toolName] ?? ''}`.trim();
  if (operation === GEN_AI_OPERATION.invokeAgent) return `${GEN_AI_OPERATION.invokeAgent} ${event.agentId}`;
  return `claw.${event.kind}`;
}

/** Content → the conventions' content attributes (only called for opted-in tenants). */
function contentAttributes(event: TraceEvent, redact: (value: unknown) => unknown): Attributes {
  if (event.content === undefined) return {};
  const content = redact(event.content) as Record<string, unknown>;
  const json = (v: unknown) => JSON.stringify(v ?? null);
  switch (event.kind) {
    case 'ask':
      return { [GEN_AI.inputMessages]: json([{ role: 'user', parts: [{ type: 'text', content: content.text }] }]) };
    case 'reply':
      return { [GEN_AI.outputMessages]: json([{ role: 'assistant', parts: [{ type: 'text', content: content.text }] }]) };
    case 'model.call': {
      const out: Attributes = {};
      if (content.input !== undefined) out[GEN_AI.inputMessages] = json(content.input);
      if (content.output !== undefined) out[GEN_AI.outputMessages] = json(content.output);
      return out;
    }
    case 'tool.call':
      return { [GEN_AI.toolCallArguments]: json(content.args) };
    case 'tool.result':
      return { [GEN_AI.toolCallResult]: json(content) };
    default:
      return { 'claw.content': json(content) };
  }
}

/** Replaces values under secret-looking keys, then every form of the known secrets (the broker's Scrubber). */
export function redactor(secrets: ScrubSecret[]): (value: unknown) => unknown {
  const scrubber = new Scrubber(secrets);
  const walk = (value: unknown, depth: number): unknown => {
    if (depth > 32 || value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((v) => walk(v, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? REDACTED : walk(v, depth + 1);
    return out;
  };
  return (value) => scrubber.scrub(walk(value, 0));
}

/** OTLP attribute values: strings, numbers, booleans and homogeneous arrays; nulls dropped. */
function metadataAttributes(event: TraceEvent): Attributes {
  const out: Attributes = {};
  for (const [k, v] of Object.entries(event.attributes)) {
    if (v === null || v === undefined) continue;
    out[k] = Array.isArray(v) ? v.map(String) : v;
  }
  out['claw.event.kind'] = event.kind;
  out['claw.event.seq'] = event.seq;
  return out;
}

export class OtlpTraceExporter {
  private readonly processor: BatchSpanProcessor;
  private readonly resource;
  private closed = false;

  constructor(private readonly options: OtlpTraceExporterOptions) {
    const exporter =
      options.exporter ??
      new OTLPTraceExporter({ url: options.url, headers: options.headers, timeoutMillis: options.timeoutMillis ?? 10_000 });
    this.processor = new BatchSpanProcessor(exporter, {
      scheduledDelayMillis: options.scheduledDelayMillis ?? 1_000,
      maxExportBatchSize: options.maxExportBatchSize ?? 512,
      maxQueueSize: options.maxQueueSize ?? 8_192,
      exportTimeoutMillis: options.timeoutMillis ?? 10_000,
    });
    this.resource = resourceFromAttributes({ 'service.name': options.serviceName ?? 'claw-worker', ...options.resource });
  }

  /** Queue the events' spans; never throws (a bad event is skipped, the rest still go). */
  export(events: TraceEvent[]): void {
    if (this.closed) return;
    const redactors = new Map<string, (value: unknown) => unknown>();
    for (const event of events) {
      try {
        if (this.options.tenants && !this.options.tenants(event.tenantId)) continue;
        let redact: ((value: unknown) => unknown) | undefined;
        if (this.options.contentFor?.(event.tenantId) === true) {
          redact = redactors.get(event.tenantId);
          if (!redact) {
            redact = redactor(this.options.secrets?.(event.tenantId) ?? []);
            redactors.set(event.tenantId, redact);
          }
        }
        this.processor.onEnd(this.toSpan(event, redact));
      } catch {
        // Exporting is best effort; the lake has the event.
      }
    }
  }

  /** One event as a finished span (content only when `redact` is given: the tenant opted in). */
  toSpan(event: TraceEvent, redact?: (value: unknown) => unknown): ReadableSpan {
    const end = Date.parse(event.time);
    if (!Number.isFinite(end)) throw new Error(`trace event ${event.runId}/${event.seq} has no valid time`);
    const durationMs = typeof event.attributes[CLAW.durationMs] === 'number' ? (event.attributes[CLAW.durationMs] as number) : 0;
    const start = end - Math.max(0, durationMs);
    const traceId = traceIdOf(event.tenantId, event.runId);
    const context: SpanContext = { traceId, spanId: spanIdOf(event), traceFlags: TraceFlags.SAMPLED };
    const parent: SpanContext | undefined =
      event.kind === 'run.start' ? undefined : { traceId, spanId: rootSpanIdOf(event.tenantId, event.runId), traceFlags: TraceFlags.SAMPLED, isRemote: false };
    // A denied tool call is an outcome, not a failure: it stays UNSET (the decision is in claw.authz.decision).
    const failed = event.kind === 'error' || event.attributes[CLAW.status] === 'error';
    const errorType = event.attributes[GEN_AI.errorType];
    const attributes = { ...metadataAttributes(event), ...(redact ? contentAttributes(event, redact) : {}) };
    return {
      name: spanName(event),
      kind: event.kind === 'model.call' ? SpanKind.CLIENT : SpanKind.INTERNAL,
      spanContext: () => context,
      parentSpanContext: parent,
      startTime: hrTime(start),
      endTime: hrTime(end),
      duration: hrTime(end - start),
      status: failed
        ? { code: SpanStatusCode.ERROR, message: String(errorType ?? 'error') }
        : { code: SpanStatusCode.UNSET },
      attributes,
      links: [],
      events: [],
      ended: true,
      resource: this.resource,
      instrumentationScope: SCOPE,
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    };
  }

  /** Send what is queued now. */
  forceFlush(): Promise<void> {
    return this.processor.forceFlush();
  }

  /** Flush and stop (TraceWriter.close calls this). */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.processor.shutdown();
  }
}
