/**
 * `claw policy`: for policy-as-code reviewers. validate (strict, with file:line:col),
 * schema, explain one request, test YAML cases (fails CI on a mismatch), and diff two
 * versions of an install's grants and policies.
 */
import { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { loadConfig } from '../../core/config/load.js';
import { ClawError, EXIT } from '../../core/errors.js';
import { buildSchema } from '../../policies/cedar/compile.js';
import { CedarAuthorizer } from '../../runtime/authz/authorizer.js';
import { diffPolicies, formatDiff, type PolicySide } from '../../runtime/authz/diff.js';
import { validateInstallPolicies } from '../../runtime/authz/policies.js';
import { outcomeOf, runPolicyTests } from '../../runtime/authz/policy-test-runner.js';
import type { AuthorizationDecision } from '../../runtime/ports.js';
import { globalOptions, output } from '../context.js';

const ExplainOptions = z.object({
  tenant: z.string().min(1),
  agent: z.string().min(1),
  tool: z.string().min(1),
  args: z.string().default('{}'),
  channel: z.string().optional(),
  time: z.iso.datetime({ offset: true }).optional(),
});

function parseArgs(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ClawError('POLICY_ARGS_INVALID', `--args is not JSON: ${text.slice(0, 80)}`, { hint: `pass a JSON object, e.g. --args '{"to":"a@acme.com"}'` });
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new ClawError('POLICY_ARGS_INVALID', '--args must be a JSON object', { hint: `e.g. --args '{"text":"hi"}'` });
  }
  return value as Record<string, unknown>;
}

export function renderDecision(d: AuthorizationDecision): string {
  const lines = [`decision: ${outcomeOf(d)}${d.requiresApproval ? ' (a human must approve)' : ''}`];
  for (const p of d.determining) lines.push(`  because ${p.id}${p.annotations.reason ? `: ${p.annotations.reason}` : ''}`);
  for (const e of d.errors) lines.push(`  error: ${e}`);
  if (d.shadow) {
    lines.push(`shadow (log-only, not enforced): ${d.shadow.decision}${d.shadow.determining.length ? ` via ${d.shadow.determining.map((p) => p.id).join(', ')}` : ''}`);
  }
  return lines.join('\n');
}

/** An install for diff: a claw.yaml, a directory holding one, or a tenant policy directory (with --tenant). */
function side(arg: string, tenant: string | undefined, defaultConfig: string): PolicySide {
  const path = resolve(arg);
  if (!existsSync(path)) throw new ClawError('POLICY_DIFF_INPUT', `${arg} does not exist`, { hint: 'pass a claw.yaml, a directory with one, or a policy directory with --tenant' });
  if (statSync(path).isFile()) return { config: loadConfig(path), configFile: path };
  if (existsSync(join(path, 'claw.yaml'))) return { config: loadConfig(join(path, 'claw.yaml')), configFile: join(path, 'claw.yaml') };
  if (!tenant) {
    throw new ClawError('POLICY_DIFF_INPUT', `${arg} holds no claw.yaml; as a policy directory it needs --tenant`, {
      hint: 'pass --tenant <id> to compare two versions of that tenant\'s policy directory',
    });
  }
  return { config: loadConfig(defaultConfig), configFile: defaultConfig, policyDirs: { [tenant]: path } };
}

export function policyCommand(): Command {
  const policy = new Command('policy').description('validate, explain, test and diff the Cedar policies that bound what agents may do');

  policy
    .command('validate')
    .description("validate every tenant's policies (base, grants from claw.yaml, the tenant's own) against the schema, strictly")
    .action(function (this: Command) {
      const global = globalOptions(this);
      const config = loadConfig(global.config);
      const results = validateInstallPolicies(config, global.config);
      output(global, { type: 'policy.valid', tenants: results }, () =>
        results
          .map((r) => [`${r.tenant}: ${r.policies} policies valid`, ...r.warnings.map((w) => `  warning: ${w}`)].join('\n'))
          .join('\n') || 'no tenants in claw.yaml',
      );
    });

  policy
    .command('schema')
    .description('print the Cedar schema of this install (the base schema plus one action per tool)')
    .action(function (this: Command) {
      const global = globalOptions(this);
      process.stdout.write(buildSchema(loadConfig(global.config)));
    });

  policy
    .command('explain')
    .description('authorize one tool call and show the decision and the policies behind it')
    .requiredOption('--tenant <id>', 'tenant')
    .requiredOption('--agent <id>', 'agent')
    .requiredOption('--tool <name>', 'tool')
    .option('--args <json>', 'the call arguments as a JSON object', '{}')
    .option('--channel <type>', 'the channel of the run')
    .option('--time <iso>', 'evaluate at this time (default: now)')
    .action(function (this: Command, raw: Record<string, unknown>) {
      const global = globalOptions(this);
      const opts = ExplainOptions.parse(raw);
      const config = loadConfig(global.config);
      const time = opts.time ? new Date(opts.time) : undefined;
      const authorizer = CedarAuthorizer.fromConfig(config, global.config, time ? { now: () => time } : {});
      const decision = authorizer.authorizeToolCall({
        tenantId: opts.tenant,
        agentId: opts.agent,
        runId: 'policy-explain',
        tool: opts.tool,
        args: parseArgs(opts.args),
        channel: opts.channel,
      });
      output(global, { type: 'policy.decision', tenant: opts.tenant, agent: opts.agent, tool: opts.tool, ...decision }, () =>
        `${opts.tenant}/${opts.agent} → ${opts.tool}\n${renderDecision(decision)}`,
      );
    });

  policy
    .command('test <files...>')
    .description('run YAML policy test files (request → expected decision); fails on any mismatch')
    .action(function (this: Command, files: string[]) {
      const global = globalOptions(this);
      const results = runPolicyTests(files.map((f) => resolve(f)), existsSync(global.config) ? global.config : undefined);
      const failed = results.filter((r) => !r.pass);
      output(global, { type: 'policy.test', passed: results.length - failed.length, failed: failed.length, results: results.map(({ decision: _d, ...r }) => r) }, () =>
        [
          ...results.map((r) => `${r.pass ? 'ok  ' : 'FAIL'} ${r.name}${r.pass ? '' : `: ${r.problems.join('; ')}`}`),
          `${results.length - failed.length} passed, ${failed.length} failed`,
        ].join('\n'),
      );
      if (failed.length) {
        throw new ClawError('POLICY_TEST_FAILED', `${failed.length} of ${results.length} policy test(s) failed; first: ${failed[0]!.name}: ${failed[0]!.problems[0]}`, {
          hint: 'fix the policy or the expectation; claw policy explain shows why a request is decided as it is',
        });
      }
    });

  policy
    .command('diff <old> <new>')
    .description('list every (agent, tool, action) whose decision changes between two versions (claw.yaml files, dirs with one, or policy dirs with --tenant)')
    .option('--tenant <id>', 'compare two policy directories of this tenant')
    .option('--exit-code', 'exit 2 when anything changes (for CI)')
    .action(function (this: Command, oldArg: string, newArg: string, opts: { tenant?: string; exitCode?: boolean }) {
      const global = globalOptions(this);
      const entries = diffPolicies(side(oldArg, opts.tenant, global.config), side(newArg, opts.tenant, global.config));
      output(global, { type: 'policy.diff', changes: entries }, () => formatDiff(entries));
      if (opts.exitCode && entries.length) process.exitCode = EXIT.changesPending;
    });

  return policy;
}
