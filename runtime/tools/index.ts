/**
 * The tool-call path the workflow's activity takes (DESIGN.md invariants 2-4):
 * authorize (Cedar) → approval? → broker (secrets) → sandbox → scrub.
 *
 * `createToolRuntime` builds it once per worker process from claw.yaml and the tenant
 * SecretStore; `runToolCall` is the one function the activity calls per tool call.
 */
import type { ClawConfig } from '../../core/config/schema.js';
import type { AuthorizationDecision, SecretStore, ToolResult } from '../ports.js';
import type { PolicySource } from '../authz/policies.js';
import { CedarAuthorizer, tenantInput } from '../authz/authorizer.js';
import { CredentialBroker } from '../broker/broker.js';
import { IsolateSandbox } from '../sandbox/isolate.js';
import { BubblewrapSandbox } from '../sandbox/bubblewrap.js';
import { denialMessage, SandboxedToolExecutor, type ExecuteRequest, type ExecutedTool, type ToolExecutorDeps } from './executor.js';

export type { ExecuteRequest, ExecutedTool } from './executor.js';
export { SandboxedToolExecutor, denialMessage } from './executor.js';

export interface ToolCallOutcome {
  /** denied: the run goes on with `content` as the tool's answer. approval-required: wait for a human, then call again with approved. */
  status: 'denied' | 'approval-required' | 'done';
  decision: AuthorizationDecision;
  /** Present when status is 'done'; already scrubbed. */
  result?: ExecutedTool;
  ok: boolean;
  /** What the model sees, as JSON text: the tool's output, or its error, or the denial. Scrubbed. */
  content: string;
}

export interface ToolCallDeps {
  authorizer: CedarAuthorizer;
  executor: SandboxedToolExecutor;
}

/**
 * Authorize, then (approval permitting) run one tool call. A denial is an answer, not a
 * failure: the model is told which policy denied the call and the run continues.
 * `approved` is set by the workflow after a human approved; the call is authorized again
 * then, so a policy change made while it waited still applies.
 */
export async function runToolCall(deps: ToolCallDeps, request: ExecuteRequest, options: { approved?: boolean } = {}): Promise<ToolCallOutcome> {
  const decision = await deps.authorizer.authorize(request);
  if (decision.decision === 'deny') {
    return {
      status: 'denied',
      decision,
      ok: false,
      content: JSON.stringify({
        error: 'TOOL_CALL_DENIED',
        message: denialMessage(request.tool, decision),
        policies: decision.determining.map((d) => d.id),
      }),
    };
  }
  if (decision.requiresApproval && !options.approved) {
    return {
      status: 'approval-required',
      decision,
      ok: false,
      content: JSON.stringify({ status: 'AWAITING_APPROVAL', message: `a human must approve this call to ${request.tool}` }),
    };
  }
  const result = await deps.executor.executeAuthorized(request);
  return {
    status: 'done',
    decision,
    result,
    ok: result.ok,
    content: JSON.stringify(result.ok ? result.output : { error: result.error?.code, message: result.error?.message }),
  };
}

export interface ToolRuntime extends ToolCallDeps {
  runToolCall(request: ExecuteRequest, options?: { approved?: boolean }): Promise<ToolCallOutcome>;
  /**
   * Re-read a tenant's policies (claw.yaml's and its files, plus `applied`: those applied
   * through the admin API); on any error it throws (file:line:col) and the old ones stay in force.
   */
  reloadPolicies(tenantId: string, config?: ClawConfig, applied?: PolicySource[]): { policies: number; warnings: string[] };
  close(): void;
}

export interface ToolRuntimeOptions {
  config: ClawConfig;
  configFile: string;
  /** Per tenant, the policies applied through the admin API (runtime/authz/policies.ts appliedByTenant). */
  appliedPolicies?: Record<string, PolicySource[]>;
  /** A tenant whose applied policies no longer compile (quarantined: refused until fixed). */
  onQuarantine?: (tenantId: string, problem: string) => void;
  secretStore: SecretStore;
  /** Program tools on Kubernetes (cloud targets); bubblewrap otherwise. */
  kubernetes?: ToolExecutorDeps['kubernetes'];
  isolatePoolSize?: number;
  now?: () => Date;
}

export function createToolRuntime(options: ToolRuntimeOptions): ToolRuntime {
  const authorizer = CedarAuthorizer.fromConfig(options.config, options.configFile, { now: options.now, applied: options.appliedPolicies, ...(options.onQuarantine ? { onQuarantine: options.onQuarantine } : {}) });
  const isolates = new IsolateSandbox({ poolSize: options.isolatePoolSize ?? 2 });
  const executor = new SandboxedToolExecutor({
    config: options.config,
    configFile: options.configFile,
    authorizer,
    broker: new CredentialBroker(options.secretStore),
    isolates,
    bubblewrap: new BubblewrapSandbox(),
    kubernetes: options.kubernetes,
    now: options.now,
  });
  void isolates.warm().catch(() => undefined);
  const deps = { authorizer, executor };
  return {
    ...deps,
    runToolCall: (request, opts) => runToolCall(deps, request, opts),
    reloadPolicies: (tenantId, config = options.config, applied) => authorizer.load(tenantInput(config, options.configFile, tenantId, undefined, applied)),
    close: () => isolates.close(),
  };
}
