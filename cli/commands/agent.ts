import { Command } from 'commander';
import { resolve } from 'node:path';
import { checkAgent, loadAgentFile, loadConfig, toolCatalog } from '../../core/config/load.js';
import { validateInstallPolicies } from '../../runtime/authz/policies.js';
import { openPlatform } from '../../stacks/local/platform.js';
import { globalOptions, output } from '../context.js';
import { signedInApi } from '../api-client.js';
import { loadInstallConfig } from './platform-access.js';

export function agentCommand(): Command {
  const agent = new Command('agent').description('agents of the local target');
  agent
    .command('apply')
    .description('validate an agent file and store it (a new revision when it changed)')
    .requiredOption('-f, --file <file>', 'the agent file (kind: Agent)')
    .option('--api-url <url>', 'the admin API, when signed in (default: $CLAW_API_URL, or the local gateway)')
    .action(async function (this: Command, opts: { file: string; apiUrl?: string }) {
      const global = globalOptions(this);
      const file = resolve(opts.file);
      const spec = loadAgentFile(file);
      const done = (revision: number, changed: boolean) =>
        output(global, { type: 'agent.applied', tenant: spec.tenant, id: spec.id, revision, changed }, () =>
          `agent ${spec.tenant}/${spec.id} ${changed ? `applied as revision ${revision}` : `unchanged (revision ${revision})`}`,
        );
      // Signed in (claw login) or with CLAW_API_KEY: through the admin API, where Cedar
      // decides (applyAgent), the server validates, and the audit log and the revision name you.
      const api = await signedInApi(global.stateDir, () => loadInstallConfig(global), opts.apiUrl);
      if (api) {
        const applied = await api.call<{ revision: number; changed: boolean }>('PUT', `/api/v1/tenants/${spec.tenant}/agents/${spec.id}`, spec);
        return done(applied.revision, applied.changed);
      }
      const config = loadConfig(global.config);
      // Unknown tenant or tool: one clear error, nothing stored.
      checkAgent(spec, file, new Set(config.tenants.map((t) => t.id)), toolCatalog(config));
      // The tenant's Cedar policies must still compile with this agent in the install.
      validateInstallPolicies({ ...config, agents: [...config.agents.filter((a) => !(a.tenant === spec.tenant && a.id === spec.id)), spec] }, global.config);
      const session = await openPlatform(global.stateDir, config);
      try {
        const { revision, changed } = await session.store.applyAgent(spec, file);
        done(revision, changed);
      } finally {
        await session.close();
      }
    });
  return agent;
}
