/**
 * `claw policy`: for policy-as-code reviewers. validate (strict, with file:line:col),
 * schema, explain one request, test YAML cases (fails CI on a mismatch), and diff two
 * versions of an install's grants and policies.
 */
import { Command } from 'commander';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { z } from 'zod';
import { loadConfig } from '../../core/config/load.js';
import { ClawError, EXIT } from '../../core/errors.js';
import { buildSchema } from '../../policies/cedar/compile.js';
import { CedarAuthorizer } from '../../runtime/authz/authorizer.js';
import { diffPolicies, formatDiff, type DiffEntry, type PolicySide } from '../../runtime/authz/diff.js';
import { POLICY_NAME } from '../../runtime/store/metadata.js';
import { assertTenantId } from '../../core/config/schema.js';
import { signedInApi } from '../api-client.js';
import { loadInstallConfig } from './platform-access.js';
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

  // Tenant policies people apply (applied/<name>.cedar): through the admin API only, where
  // Cedar decides who may (editPolicy) and the audit log names them. The install's own
  // policies stay files in the tenant's policy directory (claw.yaml tenants[].policies).
  const api = ['--api-url <url>', 'the admin API (default: $CLAW_API_URL, or the local gateway)'] as const;
  const viaApi = async (command: Command, explicit?: string) => {
    const global = globalOptions(command);
    const signedIn = await signedInApi(global.stateDir, () => loadInstallConfig(global), explicit);
    if (!signedIn) {
      throw new ClawError('AUTH_REQUIRED', 'applied tenant policies change through the admin API and you are not signed in', {
        hint: "run 'claw login' or set CLAW_API_KEY; or, as the install's operator, put the file in the tenant's policy directory (claw.yaml tenants[].policies)",
      });
    }
    return { global, api: signedIn };
  };
  const changed = (r: Applied, verb: string) =>
    r.changed ? `${r.file} ${verb} as revision ${r.revision}\n${formatDiff(r.changes)}` : `${r.file} unchanged (revision ${r.revision})`;

  policy
    .command('apply <file>')
    .description("apply a Cedar file as one of a tenant's applied policies (validated with its other policies first; prints what it changes)")
    .requiredOption('--tenant <id>', 'the tenant')
    .option('--name <name>', 'the policy name (default: the file name without .cedar)')
    .option(...api)
    .action(async function (this: Command, file: string, opts: { tenant: string; name?: string; apiUrl?: string }) {
      const tenant = assertTenantId(opts.tenant);
      const name = opts.name ?? basename(file).replace(/\.cedar$/, '');
      if (!POLICY_NAME.test(name)) throw new ClawError('POLICY_NAME_INVALID', `'${name}' is not a policy name`, { hint: 'pass --name with lowercase letters, digits and -, up to 63 characters' });
      if (!existsSync(file)) throw new ClawError('USAGE', `no file ${file}`, { hint: 'pass the path of a .cedar file' });
      const text = readFileSync(file, 'utf8');
      const { global, api: signedIn } = await viaApi(this, opts.apiUrl);
      const applied = await signedIn.call<Applied>('PUT', `/api/v1/tenants/${tenant}/policies/${name}`, { text });
      output(global, { type: 'policy.applied', ...applied }, () => changed(applied, 'applied'));
    });

  policy
    .command('rm <name>')
    .description("remove one of a tenant's applied policies (its history stays; prints what its removal changes)")
    .requiredOption('--tenant <id>', 'the tenant')
    .option(...api)
    .action(async function (this: Command, name: string, opts: { tenant: string; apiUrl?: string }) {
      const tenant = assertTenantId(opts.tenant);
      const { global, api: signedIn } = await viaApi(this, opts.apiUrl);
      const removed = await signedIn.call<Applied>('DELETE', `/api/v1/tenants/${tenant}/policies/${encodeURIComponent(name)}`);
      output(global, { type: 'policy.removed', ...removed }, () => changed(removed, 'removed'));
    });

  policy
    .command('history <name>')
    .description("the revisions of one of a tenant's applied policies: who applied each, and when")
    .requiredOption('--tenant <id>', 'the tenant')
    .option('--diff <from..to>', 'what changes between two revisions (0: without the policy), e.g. 1..2')
    .option(...api)
    .action(async function (this: Command, name: string, opts: { tenant: string; diff?: string; apiUrl?: string }) {
      const tenant = assertTenantId(opts.tenant);
      const { global, api: signedIn } = await viaApi(this, opts.apiUrl);
      const path = `/api/v1/tenants/${tenant}/policies/${encodeURIComponent(name)}`;
      if (opts.diff !== undefined) {
        const m = /^(\d+)\.\.(\d+)$/.exec(opts.diff);
        if (!m) throw new ClawError('USAGE', `--diff '${opts.diff}' is not <from>..<to>`, { hint: 'e.g. --diff 1..2, or 0..1 for what the first revision added' });
        const diffed = await signedIn.call<Applied>('GET', `${path}/diff?from=${m[1]}&to=${m[2]}`);
        return output(global, { type: 'policy.diff', ...diffed }, () => formatDiff(diffed.changes));
      }
      const { revisions } = await signedIn.call<{ revisions: { revision: number; appliedAt: string; appliedBy: string; removed: boolean }[] }>('GET', `${path}/revisions`);
      output(global, { type: 'policy.history', tenant, name, revisions }, () =>
        revisions.map((r) => `${r.revision}\t${r.appliedAt}\t${r.appliedBy}${r.removed ? '\tremoved' : ''}`).join('\n'),
      );
    });

  return policy;
}

interface Applied {
  file: string;
  revision: number;
  changed: boolean;
  changes: DiffEntry[];
}
