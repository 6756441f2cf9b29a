import { Command } from 'commander';
import { resolve } from 'node:path';
import { checkAgent, loadAgentFile, loadConfig, toolCatalog } from '../../core/config/load.js';
import { validateInstallPolicies } from '../../runtime/authz/policies.js';
import { openPlatform } from '../../stacks/local/platform.js';
import { globalOptions, output } from '../context.js';

export function agentCommand(): Command {
  const agent = new Command('agent').description('agents of the local target');
  agent
    .command('apply')
    .description('validate an agent file and store it (a new revision when it changed)')
    .requiredOption('-f, --file <file>', 'the agent file (kind: Agent)')
    .action(async function (this: Command, opts: { file: string }) {
      const global = globalOptions(this);
      const file = resolve(opts.file);
      const config = loadConfig(global.config);
      const spec = loadAgentFile(file);
      // Unknown tenant or tool: one clear error, nothing stored.
      checkAgent(spec, file, new Set(config.tenants.map((t) => t.id)), toolCatalog(config));
      // The tenant's Cedar policies must still compile with this agent in the install.
      validateInstallPolicies({ ...config, agents: [...config.agents.filter((a) => !(a.tenant === spec.tenant && a.id === spec.id)), spec] }, global.config);
      const session = await openPlatform(global.stateDir, config);
      try {
        const { revision, changed } = await session.store.applyAgent(spec, file);
        output(global, { type: 'agent.applied', tenant: spec.tenant, id: spec.id, revision, changed }, () =>
          `agent ${spec.tenant}/${spec.id} ${changed ? `applied as revision ${revision}` : `unchanged (revision ${revision})`}`,
        );
      } finally {
        await session.close();
      }
    });
  return agent;
}
