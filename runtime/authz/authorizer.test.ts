import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config/load.js';
import { isClawError } from '../../core/errors.js';
import type { ToolCallRequest } from '../ports.js';
import { CedarAuthorizer, DEFAULT_DENY, tenantInput } from './authorizer.js';

const CONFIG_FILE = 'policies/cedar/tests/install/claw.yaml';
const config = loadConfig(CONFIG_FILE);
const NOON = () => new Date('2026-01-05T12:00:00Z');

function call(over: Partial<ToolCallRequest>): ToolCallRequest {
  return { tenantId: 'acme', agentId: 'helper', runId: 'run-1', tool: 'echo', args: {}, ...over };
}

describe('CedarAuthorizer', () => {
  const authorizer = CedarAuthorizer.fromConfig(config, CONFIG_FILE, { now: NOON });

  it('allows a granted tool and names the grant that allowed it', async () => {
    const d = await authorizer.authorize(call({ tool: 'echo', args: { text: 'hi' } }));
    expect(d.decision).toBe('allow');
    expect(d.determining.map((p) => p.id)).toEqual(['grant:helper:echo']);
    expect(d.determining[0]!.annotations.reason).toBe('claw.yaml grants echo to agent helper');
    expect(d.requiresApproval).toBe(false);
  });

  it('denies a tool the agent was not granted, by default, and says so', async () => {
    const d = await authorizer.authorize(call({ tool: 'github.issues', args: { repo: 'acme/app' } }));
    expect(d.decision).toBe('deny');
    expect(d.determining).toEqual([DEFAULT_DENY]);
    // the same tool is granted to another agent of the tenant
    expect((await authorizer.authorize(call({ agentId: 'triage', tool: 'github.issues', args: { repo: 'acme/app' } }))).decision).toBe('allow');
  });

  it('forbid wins over the grant, and the forbid is the determining policy', async () => {
    const d = await authorizer.authorize(call({ tool: 'gmail.send', args: { to: 'boss@evil.example' } }));
    expect(d.decision).toBe('deny');
    expect(d.determining.map((p) => p.id)).toEqual(['acme:mail-internal-only']);
  });

  it('a determining permit annotated @approval("required") parks the call for a human', async () => {
    const d = await authorizer.authorize(call({ tool: 'gmail.send', args: { to: 'team@acme.com' } }));
    expect(d).toMatchObject({ decision: 'allow', requiresApproval: true });
    expect(d.determining[0]!.annotations.approval).toBe('required');
  });

  it('records what a @shadow policy would decide without enforcing it', async () => {
    const night = CedarAuthorizer.fromConfig(config, CONFIG_FILE, { now: () => new Date('2026-01-05T02:00:00Z') });
    const d = await night.authorize(call({ tool: 'echo', args: { text: 'hi' } }));
    expect(d.decision).toBe('allow');
    expect(d.shadow).toEqual({ decision: 'deny', determining: [expect.objectContaining({ id: 'acme:no-tools-at-night' })] });
    // at noon the shadow policy agrees with the enforced set
    expect((await authorizer.authorize(call({ tool: 'echo', args: { text: 'hi' } }))).shadow?.decision).toBe('allow');
  });

  it('denies arguments of the wrong type instead of skipping a forbid that reads them', async () => {
    const d = await authorizer.authorize(call({ tool: 'gmail.send', args: { to: ['a@acme.com'] } }));
    expect(d.decision).toBe('deny');
    expect(d.errors).toEqual(['invalid arguments for gmail.send: args.to must be a string']);
    const missing = await authorizer.authorize(call({ tool: 'gmail.send', args: {} }));
    expect(missing.errors).toEqual(['invalid arguments for gmail.send: args.to is required']);
  });

  it('denies once the run exceeds its budget (base policy)', async () => {
    const d = await authorizer.authorize(call({ tool: 'echo', args: {}, budget: { stepsUsed: 9, tokensUsed: 0 } }));
    expect(d.decision).toBe('deny');
    expect(d.determining.map((p) => p.id)).toEqual(['base:budget-exhausted']);
  });

  it('keeps tenants apart: the same agent id and tool in another tenant follow that tenant\'s policies', async () => {
    const d = await authorizer.authorize(call({ tenantId: 'globex', tool: 'echo', args: { text: 'my password is x' } }));
    expect(d.determining.map((p) => p.id)).toEqual(['globex:echo-no-passwords']);
    expect((await authorizer.authorize(call({ tenantId: 'acme', tool: 'echo', args: { text: 'my password is x' } }))).decision).toBe('allow');
  });
});

describe('reloading policies', () => {
  it('rejects a syntax error with its line and column and keeps the previous policies in force', async () => {
    const authorizer = CedarAuthorizer.fromConfig(config, CONFIG_FILE, { now: NOON });
    const input = tenantInput(config, CONFIG_FILE, 'acme');
    const bad = { ...input, sources: [...input.sources, { file: 'new.cedar', text: '// a new rule\npermit (principal, action resource);\n' }] };
    let error: unknown;
    try {
      authorizer.load(bad);
    } catch (err) {
      error = err;
    }
    expect(isClawError(error) && error.code).toBe('CEDAR_POLICY_SYNTAX');
    expect((error as Error).message).toMatch(/^new\.cedar:2:27: unexpected token `resource`/);
    expect((await authorizer.authorize(call({ tool: 'echo', args: { text: 'hi' } }))).decision).toBe('allow');
    expect(authorizer.policies('acme').some((p) => p.file === 'new.cedar')).toBe(false);
  });

  it('rejects a schema error (strict validation) with its line and column', () => {
    const authorizer = CedarAuthorizer.fromConfig(config, CONFIG_FILE, { now: NOON });
    const input = tenantInput(config, CONFIG_FILE, 'acme');
    const text = '@id("x")\npermit (principal, action == Action::"invokeTool:gmail.send", resource)\nwhen { context.args.cc == "a" };\n';
    expect(() => authorizer.load({ ...input, sources: [...input.sources, { file: 'cc.cedar', text }] })).toThrow(
      /^cc\.cedar:3:8: for policy `policy0`, attribute `args\.cc` in context for Action::"invokeTool:gmail\.send" not found/,
    );
  });

  it('applies a valid reload: a new forbid takes effect at once', async () => {
    const authorizer = CedarAuthorizer.fromConfig(config, CONFIG_FILE, { now: NOON });
    const input = tenantInput(config, CONFIG_FILE, 'acme');
    const text = '@id("acme:no-echo")\nforbid (principal, action == Action::"invokeTool:echo", resource);\n';
    authorizer.load({ ...input, sources: [...input.sources, { file: 'no-echo.cedar', text }] });
    const d = await authorizer.authorize(call({ tool: 'echo', args: {} }));
    expect(d.decision).toBe('deny');
    expect(d.determining.map((p) => p.id)).toEqual(['acme:no-echo']);
  });

  it('rejects two policies with the same @id', () => {
    const authorizer = new CedarAuthorizer({ now: NOON });
    const input = tenantInput(config, CONFIG_FILE, 'acme');
    const text = '@id("grant:helper:echo")\nforbid (principal, action, resource);\n';
    expect(() => authorizer.load({ ...input, sources: [...input.sources, { file: 'dup.cedar', text }] })).toThrow(/dup\.cedar:1:1: policy id 'grant:helper:echo' is already used/);
  });
});

describe('cross-tenant requests (fuzzed ids)', () => {
  const authorizer = CedarAuthorizer.fromConfig(config, CONFIG_FILE, { now: NOON });
  // A deterministic generator, so a failure reproduces.
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const noise = () => pick(['', '/', '../', '%2F', '\u0000', ' ', 'globex', 'GLOBEX', 'globex/', '*', '"', '\\', 'é', String(Math.floor(rand() * 1e6))]);
  const fuzzId = (base: string) => `${noise()}${base}${noise()}`;

  it('denies 100% of 5,000 requests by acme agents naming globex resources', () => {
    const granted = ['echo', 'time.now', 'calc.sum', 'gmail.send', 'github.issues', 'shell.wc'];
    const decisions: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const agent = pick(['helper', 'triage']);
      const kind = pick(['tool', 'blob', 'channel', 'host', 'tenantMismatch', 'toolName']);
      const principal = { type: 'Agent', id: `acme/${agent}` };
      let d;
      if (kind === 'tool') {
        const tool = pick(granted);
        d = authorizer.authorizeRaw({ tenantId: 'acme', principal, action: `invokeTool:${tool}`, resource: { type: 'Tool', id: `globex/${fuzzId(tool)}` }, context: { tool, args: {} } }, agent);
      } else if (kind === 'blob') {
        const action = pick(['readBlob', 'writeBlob']);
        d = authorizer.authorizeRaw({ tenantId: 'acme', principal, action, resource: { type: 'Blob', id: `globex/agents/${agent}/${fuzzId('x')}` }, context: {} }, agent);
      } else if (kind === 'channel') {
        d = authorizer.authorizeRaw({ tenantId: 'acme', principal, action: 'sendMessage', resource: { type: 'Channel', id: fuzzId('globex/slack') }, context: {} }, agent);
      } else if (kind === 'host') {
        d = authorizer.authorizeRaw({ tenantId: 'acme', principal, action: 'egress', resource: { type: 'Host', id: `globex/${fuzzId('gmail.googleapis.com')}` }, context: { tool: 'gmail.send' } }, agent);
      } else if (kind === 'tenantMismatch') {
        // an acme agent presented to the globex tenant's policies
        d = authorizer.authorizeToolCall(call({ tenantId: 'globex', agentId: `${fuzzId('')}acme/${agent}`, tool: pick(granted), args: { to: 'a@acme.com', text: 'x', values: [1], repo: 'r' } }));
      } else {
        d = authorizer.authorizeToolCall(call({ agentId: agent, tool: fuzzId(pick(granted)).replace(/^$/, 'x'), args: {} }));
        if (d.decision === 'allow') {
          // a fuzzed name that is still exactly a granted tool of this tenant is not cross-tenant
          continue;
        }
      }
      decisions.push(d.decision);
    }
    expect(decisions.length).toBeGreaterThan(4000);
    expect(decisions.filter((d) => d !== 'deny')).toEqual([]);
  });

  it('denies a principal of another tenant even when its own tenant grants the tool', () => {
    const d = authorizer.authorizeRaw({
      tenantId: 'acme',
      principal: { type: 'Agent', id: 'globex/helper' },
      action: 'invokeTool:echo',
      resource: { type: 'Tool', id: 'acme/echo' },
      context: { tool: 'echo', args: {} },
    });
    expect(d.decision).toBe('deny');
  });
});
