/**
 * The ToolExecutor port: routes a call to its implementation — built-ins (`echo`,
 * `time.now`) in process, HTTP tools through the broker's headers, JS tools in an
 * isolate, program tools under bubblewrap (local) or in a Kubernetes pod (cloud) — and
 * scrubs every secret the broker handed out from what comes back.
 *
 * Every call is authorized first (defence in depth: `execute` never trusts that its
 * caller did), and network egress is authorized per host (`Action::"egress"`).
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ClawError, isClawError } from '../../core/errors.js';
import type { ClawConfig, Tool } from '../../core/config/schema.js';
import { uid } from '../../policies/cedar/compile.js';
import type { AuthorizationDecision, ToolCallRequest, ToolExecutor, ToolResult } from '../ports.js';
import type { CedarAuthorizer } from '../authz/authorizer.js';
import type { CredentialBroker, CredentialLease } from '../broker/broker.js';
import { NO_SECRETS, type Scrubber } from '../broker/scrub.js';
import type { IsolateSandbox } from '../sandbox/isolate.js';
import type { BubblewrapSandbox } from '../sandbox/bubblewrap.js';
import type { KubernetesSandbox } from '../sandbox/kubernetes.js';
import { egressCidrs } from '../sandbox/egress-proxy.js';

export type ExecuteRequest = ToolCallRequest & { callId: string; idempotencyKey: string };

/** A ToolResult plus the tool's own log lines (scrubbed), for the trace, not the model. */
export type ExecutedTool = ToolResult & { logs?: string[] };

export interface ToolExecutorDeps {
  config: ClawConfig;
  configFile: string;
  authorizer: CedarAuthorizer;
  broker: CredentialBroker;
  isolates: IsolateSandbox;
  bubblewrap?: BubblewrapSandbox;
  /** Program tools run here instead of bubblewrap (the cloud targets). */
  kubernetes?: { sandbox: KubernetesSandbox; image: string; resolve?: (host: string) => Promise<string[]> };
  now?: () => Date;
}

const MAX_HTTP_BODY = 1_048_576;
const HTTP_TIMEOUT_MS = 30_000;

export class SandboxedToolExecutor implements ToolExecutor {
  private readonly tools: Map<string, Tool>;
  private readonly jsCode = new Map<string, string>();
  private readonly now: () => Date;

  constructor(private readonly deps: ToolExecutorDeps) {
    this.tools = new Map(deps.config.tools.map((t) => [t.name, t]));
    this.now = deps.now ?? (() => new Date());
    const base = dirname(resolve(deps.configFile));
    for (const tool of deps.config.tools) {
      if (tool.kind === 'js') this.jsCode.set(tool.name, tool.code ?? readFileSync(resolve(base, tool.file!), 'utf8'));
    }
  }

  async execute(request: ExecuteRequest): Promise<ExecutedTool> {
    const decision = await this.deps.authorizer.authorize(request);
    if (decision.decision !== 'allow') {
      return { ok: false, output: null, error: { code: 'TOOL_CALL_DENIED', message: denialMessage(request.tool, decision) }, sandbox: 'none', durationMs: 0 };
    }
    return this.executeAuthorized(request);
  }

  /** Run a call whose decision the caller has just obtained (runToolCall). */
  async executeAuthorized(request: ExecuteRequest): Promise<ExecutedTool> {
    const started = performance.now();
    const tool = this.tools.get(request.tool);
    let scrubber: Scrubber = NO_SECRETS;
    let sandbox = 'none';
    try {
      if (!tool) {
        sandbox = 'none';
        const output = this.builtin(request);
        return { ok: true, output, sandbox, durationMs: performance.now() - started };
      }
      const lease = await this.deps.broker.lease(request.tenantId, tool);
      scrubber = lease.scrubber;
      const run = await this.dispatch(tool, request, lease);
      sandbox = run.sandbox;
      return scrubber.scrub({ ...run, durationMs: performance.now() - started });
    } catch (err) {
      const error = isClawError(err)
        ? { code: err.code, message: err.message }
        : { code: 'TOOL_FAILED', message: err instanceof Error ? err.message : String(err) };
      return { ok: false, output: null, error: scrubber.scrub(error), sandbox, durationMs: performance.now() - started };
    }
  }

  private builtin(request: ExecuteRequest): unknown {
    switch (request.tool) {
      case 'echo':
        return { text: typeof request.args.text === 'string' ? request.args.text : JSON.stringify(request.args) };
      case 'time.now': {
        const now = this.now();
        const timezone = typeof request.args.timezone === 'string' ? request.args.timezone : 'UTC';
        let local: string;
        try {
          local = new Intl.DateTimeFormat('en-GB', { timeZone: timezone, dateStyle: 'full', timeStyle: 'long' }).format(now);
        } catch {
          throw new ClawError('TOOL_BAD_ARGUMENTS', `unknown time zone '${timezone}'`, { hint: "use an IANA zone such as 'Europe/Berlin'" });
        }
        return { iso: now.toISOString(), epochMs: now.getTime(), timezone, local };
      }
      default:
        throw new ClawError('UNKNOWN_TOOL', `tool '${request.tool}' does not exist`, { hint: "define it under 'tools:' in claw.yaml" });
    }
  }

  private async dispatch(tool: Tool, request: ExecuteRequest, lease: CredentialLease): Promise<Omit<ExecutedTool, 'durationMs'>> {
    switch (tool.kind) {
      case 'http':
        return { ...(await this.http(tool, request, lease)), sandbox: 'none' };
      case 'js': {
        const out = await this.deps.isolates.run({
          code: this.jsCode.get(tool.name)!,
          args: request.args,
          secrets: { ...lease.values },
          memoryMb: tool.limits.memoryMb,
          timeoutMs: tool.limits.timeoutMs,
          hostFunctions: tool.egress.length ? { fetch: (url: unknown, init: unknown) => this.sandboxFetch(tool, request, url, init) } : {},
        });
        return { ok: out.ok, output: out.ok ? out.value : null, ...(out.error ? { error: out.error } : {}), logs: out.logs, sandbox: 'isolate' };
      }
      case 'program':
        return this.program(tool, request, lease);
    }
  }

  private async program(tool: Tool & { kind: 'program' }, request: ExecuteRequest, lease: CredentialLease): Promise<Omit<ExecutedTool, 'durationMs'>> {
    const egress = await this.allowedEgress(tool, request);
    if (this.deps.kubernetes) {
      const { sandbox, image, resolve: resolveHost } = this.deps.kubernetes;
      const { cidrs, denied } = await egressCidrs(egress, resolveHost);
      const out = await sandbox.run({
        tenantId: request.tenantId,
        tool: tool.name,
        callId: request.idempotencyKey,
        image,
        command: tool.command,
        args: request.args,
        secrets: { ...lease.values },
        egressCidrs: cidrs,
        memoryMb: tool.limits.memoryMb,
        timeoutMs: tool.limits.timeoutMs,
      });
      const refused = denied.map((d) => `egress denied: ${d.host}:${d.port} (${d.reason}${d.address ? ` ${d.address}` : ''})`);
      return { ok: out.ok, output: out.ok ? out.value : null, ...(out.error ? { error: out.error } : {}), logs: [...(out.logs ? [out.logs] : []), ...refused], sandbox: 'kubernetes' };
    }
    if (!this.deps.bubblewrap) throw new ClawError('SANDBOX_UNAVAILABLE', 'no sandbox for program tools is configured', { hint: 'install bubblewrap (apt-get install bubblewrap)' });
    const out = await this.deps.bubblewrap.run({
      command: tool.command,
      args: request.args,
      secrets: { ...lease.values },
      egress: { allow: egress },
      memoryMb: tool.limits.memoryMb,
      timeoutMs: tool.limits.timeoutMs,
    });
    // Each connection the egress proxy refused goes into the call's trace with its reason.
    const denied = (out.egressDenied ?? []).map((d) => `egress denied: ${d.host}:${d.port} (${d.reason}${d.address ? ` ${d.address}` : ''})`);
    const logs = [...(out.stderr ? [out.stderr] : []), ...denied];
    return { ok: out.ok, output: out.ok ? out.value : null, ...(out.error ? { error: out.error } : {}), logs, sandbox: 'bubblewrap' };
  }

  /** The tool's declared egress hosts that the tenant's policies allow for this agent. */
  private async allowedEgress(tool: Tool, request: ExecuteRequest): Promise<string[]> {
    return tool.egress.filter((host) => this.egressDecision(request, tool.name, host).decision === 'allow');
  }

  private egressDecision(request: ExecuteRequest, toolName: string, host: string): AuthorizationDecision {
    return this.deps.authorizer.authorizeRaw(
      {
        tenantId: request.tenantId,
        principal: uid.agent(request.tenantId, request.agentId),
        action: 'egress',
        resource: uid.host(request.tenantId, host),
        context: { tool: toolName, runId: request.runId },
      },
      request.agentId,
    );
  }

  private checkEgress(request: ExecuteRequest, tool: Tool, url: URL): void {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new ClawError('EGRESS_DENIED', `tool ${tool.name} may not use ${url.protocol} URLs`, { hint: 'tools reach http(s) URLs only' });
    }
    const host = url.hostname;
    const declared = tool.egress.includes(host);
    const decision = declared ? this.egressDecision(request, tool.name, host) : undefined;
    if (!declared || decision?.decision !== 'allow') {
      const by = decision ? ` (policy ${decision.determining.map((d) => d.id).join(', ')})` : '';
      throw new ClawError('EGRESS_DENIED', `tool ${tool.name} may not reach ${host}${by}`, {
        hint: `declare the host under the tool's 'egress:' in claw.yaml`,
      });
    }
  }

  private async http(tool: Tool & { kind: 'http' }, request: ExecuteRequest, lease: CredentialLease): Promise<Omit<ToolResult, 'durationMs' | 'sandbox'>> {
    const used = new Set<string>();
    const path = tool.url.replace(/\{([A-Za-z0-9_]+)\}/g, (_m, name: string) => {
      used.add(name);
      const value = request.args[name];
      if (value === undefined || value === null) throw new ClawError('TOOL_BAD_ARGUMENTS', `tool ${tool.name} needs argument '${name}'`, { hint: 'pass it in the call' });
      return encodeURIComponent(String(value));
    });
    const url = new URL(path);
    this.checkEgress(request, tool, url);
    const rest = Object.fromEntries(Object.entries(request.args).filter(([k]) => !used.has(k)));
    const hasBody = !['GET', 'DELETE'].includes(tool.method);
    if (!hasBody) for (const [k, v] of Object.entries(rest)) url.searchParams.set(k, typeof v === 'string' ? v : JSON.stringify(v));
    const response = await fetch(url, {
      method: tool.method,
      headers: {
        ...(hasBody ? { 'content-type': 'application/json' } : {}),
        'idempotency-key': request.idempotencyKey,
        ...lease.headers,
      },
      body: hasBody ? JSON.stringify(rest) : undefined,
      redirect: 'manual',
      signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    });
    const body = await readBody(response);
    const output = { status: response.status, body };
    if (response.status >= 400) return { ok: false, output, error: { code: 'TOOL_HTTP_STATUS', message: `${tool.name} answered HTTP ${response.status}` } };
    return { ok: true, output };
  }

  /** `fetch` as granted to a JS tool with egress: the same egress checks, JSON-only result. */
  private async sandboxFetch(tool: Tool, request: ExecuteRequest, rawUrl: unknown, init: unknown): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    const url = new URL(String(rawUrl));
    this.checkEgress(request, tool, url);
    const options = (init && typeof init === 'object' ? init : {}) as { method?: string; headers?: Record<string, string>; body?: string };
    const response = await fetch(url, {
      method: options.method ?? 'GET',
      headers: options.headers,
      body: options.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    });
    const text = await response.text();
    return { status: response.status, headers: Object.fromEntries(response.headers), body: text.slice(0, MAX_HTTP_BODY) };
  }
}

async function readBody(response: Response): Promise<unknown> {
  const text = (await response.text()).slice(0, MAX_HTTP_BODY);
  if ((response.headers.get('content-type') ?? '').includes('json')) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/** One line a model (and a human reading the trace) understands. */
export function denialMessage(tool: string, decision: AuthorizationDecision): string {
  const why = decision.determining.map((d) => `${d.id}${d.annotations.reason ? ` (${d.annotations.reason})` : ''}`).join('; ');
  const errors = decision.errors.length ? `; errors: ${decision.errors.join('; ')}` : '';
  return `the call to ${tool} was denied by policy: ${why}${errors}`;
}
