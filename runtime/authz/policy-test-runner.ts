/**
 * Policy tests for policy-as-code review: YAML files of requests and the decision each
 * must get (`claw policy test`, and CI). A mismatch fails.
 *
 *   config: install/claw.yaml        # relative to the test file (default: --config)
 *   time: 2026-01-05T12:00:00Z       # optional: pins context.time
 *   cases:
 *     - name: helper may echo
 *       tenant: acme
 *       agent: helper
 *       tool: echo
 *       args: { text: hi }
 *       expect: allow                # allow | deny | approval
 *       policies: [grant:helper:echo] # optional: exactly the determining policy ids
 *       shadow: deny                  # optional: what @shadow policies would decide
 *     - name: an approver may approve a parked mail
 *       tenant: acme
 *       user: ana@acme.com           # or apiKey: <key id>
 *       roles: [approver]            # the tenant roles the person holds
 *       action: decideApproval       # an admin action (core/config/access.ts)
 *       resource: Tool::"acme/gmail.send"
 *       context: { approve: true }
 *       expect: allow
 *     - name: a raw request
 *       tenant: acme
 *       principal: Agent::"acme/helper"
 *       action: readBlob
 *       resource: Blob::"acme/agents/helper/notes"
 *       expect: allow
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { loadConfig } from '../../core/config/load.js';
import { ClawError } from '../../core/errors.js';
import type { AuthorizationDecision } from '../ports.js';
import { ADMIN_ACTION_NAMES, isAdminAction, type AdminAction } from '../../core/config/access.js';
import { CedarAuthorizer, type AdminRequest } from './authorizer.js';

const uidPattern = /^([A-Za-z_][A-Za-z0-9_]*)::"((?:[^"\\]|\\.)*)"$/;
const Uid = z.string().regex(uidPattern, { message: 'entity uids look like Agent::"acme/helper"' });

const CaseSchema = z
  .object({
    name: z.string().min(1),
    tenant: z.string().min(1),
    agent: z.string().optional(),
    tool: z.string().optional(),
    args: z.record(z.string(), z.unknown()).default({}),
    channel: z.string().optional(),
    budget: z.object({ stepsUsed: z.number().int(), tokensUsed: z.number().int() }).strict().optional(),
    principal: Uid.optional(),
    user: z.string().min(1).optional(),
    apiKey: z.string().min(1).optional(),
    roles: z.array(z.string()).default([]),
    action: z.string().optional(),
    resource: Uid.optional(),
    context: z.record(z.string(), z.unknown()).default({}),
    expect: z.enum(['allow', 'deny', 'approval']),
    policies: z.array(z.string()).optional(),
    shadow: z.enum(['allow', 'deny']).optional(),
  })
  .strict()
  .refine(
    (c) =>
      [c.agent !== undefined && c.tool !== undefined, c.principal !== undefined && c.action !== undefined && c.resource !== undefined, (c.user !== undefined) !== (c.apiKey !== undefined) && c.action !== undefined && c.resource !== undefined].filter(Boolean).length === 1,
    { message: 'a case names either agent + tool, principal + action + resource, or a person (user or apiKey, with roles) + action + resource' },
  )
  .refine((c) => (c.user === undefined && c.apiKey === undefined) || isAdminAction(c.action ?? ''), {
    message: `a person's action is an admin action: ${ADMIN_ACTION_NAMES.join(', ')}`,
  });

const TestFileSchema = z
  .object({
    config: z.string().optional(),
    time: z.iso.datetime({ offset: true }).optional(),
    cases: z.array(CaseSchema).min(1),
  })
  .strict();

export type PolicyTestCase = z.output<typeof CaseSchema>;

export interface PolicyTestResult {
  file: string;
  name: string;
  pass: boolean;
  expected: string;
  actual: string;
  decision: AuthorizationDecision;
  problems: string[];
}

const parseUid = (s: string) => {
  const m = uidPattern.exec(s)!;
  return { type: m[1]!, id: JSON.parse(`"${m[2]}"`) as string };
};

export function outcomeOf(decision: AuthorizationDecision): 'allow' | 'deny' | 'approval' {
  return decision.decision === 'allow' ? (decision.requiresApproval ? 'approval' : 'allow') : 'deny';
}

function readTestFile(file: string): z.output<typeof TestFileSchema> {
  const doc = parseDocument(readFileSync(file, 'utf8'));
  if (doc.errors.length) {
    const pos = doc.errors[0]!.linePos?.[0];
    throw new ClawError('POLICY_TEST_INVALID', `${file}${pos ? `:${pos.line}:${pos.col}` : ''}: ${doc.errors[0]!.message.split('\n')[0]}`, { hint: 'fix the YAML' });
  }
  const parsed = TestFileSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ClawError('POLICY_TEST_INVALID', `${file}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`, {
      hint: 'see runtime/authz/policy-test-runner.ts for the test file format',
    });
  }
  return parsed.data;
}

/** Run policy test files; `defaultConfig` is used by files that name no config. */
export function runPolicyTests(files: string[], defaultConfig?: string): PolicyTestResult[] {
  const authorizers = new Map<string, CedarAuthorizer>();
  const results: PolicyTestResult[] = [];
  for (const file of files) {
    const spec = readTestFile(file);
    const configFile = spec.config ? resolve(dirname(file), spec.config) : defaultConfig;
    if (!configFile) throw new ClawError('POLICY_TEST_INVALID', `${file}: names no config and no --config was given`, { hint: "add 'config: <path to claw.yaml>'" });
    const key = `${configFile}|${spec.time ?? ''}`;
    let authorizer = authorizers.get(key);
    if (!authorizer) {
      const time = spec.time ? new Date(spec.time) : undefined;
      authorizer = CedarAuthorizer.fromConfig(loadConfig(configFile), configFile, time ? { now: () => time } : {});
      authorizers.set(key, authorizer);
    }
    for (const c of spec.cases) {
      const person = c.user ?? c.apiKey;
      const decision = c.tool
        ? authorizer.authorizeToolCall({ tenantId: c.tenant, agentId: c.agent!, runId: 'policy-test', tool: c.tool, args: c.args, channel: c.channel, budget: c.budget })
        : person !== undefined
          ? authorizer.authorizeAdmin({
              tenantId: c.tenant,
              principal: { kind: c.user !== undefined ? 'user' : 'apiKey', id: person, roles: c.roles },
              action: c.action as AdminAction,
              resource: parseUid(c.resource!),
              context: c.context as AdminRequest['context'],
            })
          : authorizer.authorizeRaw({ tenantId: c.tenant, principal: parseUid(c.principal!), action: c.action!, resource: parseUid(c.resource!), context: c.context });
      const actual = outcomeOf(decision);
      const problems: string[] = [];
      if (actual !== c.expect) problems.push(`expected ${c.expect}, got ${actual}`);
      const ids = decision.determining.map((d) => d.id);
      if (c.policies && JSON.stringify([...ids].sort()) !== JSON.stringify([...c.policies].sort())) {
        problems.push(`expected determining policies [${c.policies.join(', ')}], got [${ids.join(', ')}]`);
      }
      if (c.shadow && decision.shadow?.decision !== c.shadow) problems.push(`expected shadow ${c.shadow}, got ${decision.shadow?.decision ?? 'none'}`);
      results.push({ file, name: c.name, pass: problems.length === 0, expected: c.expect, actual, decision, problems });
    }
  }
  return results;
}
