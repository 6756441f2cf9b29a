import { Command } from 'commander';
import { loadConfig } from '../../core/config/load.js';
import { cloudUp } from '../installer/cloud.js';
import { openStoreSession, syncConfig } from '../../stacks/local/platform.js';
import { up } from '../../stacks/local/supervisor.js';
import { globalOptions, output } from '../context.js';

export function upCommand(): Command {
  return new Command('up')
    .description('bring the platform up: on the local target, every component on this machine (idempotent)')
    .option('--plan <file>', 'apply exactly a plan saved by claw plan --out (aws/gcp)')
    .option('--timeout <seconds>', 'how long each component may take to become healthy', '60')
    .action(async function (this: Command, opts: { plan?: string; timeout: string }) {
      const global = globalOptions(this);
      const config = loadConfig(global.config);
      // aws/gcp: INSTALLER's Pulumi path (cli/installer/).
      if (config.target !== 'local') return cloudUp(this, config, { plan: opts.plan });

      const began = performance.now();
      let synced: Awaited<ReturnType<typeof syncConfig>> | undefined;
      const states = await up(
        { stateDir: global.stateDir, configFile: global.config, config },
        {
          timeoutMs: Number(opts.timeout) * 1000,
          onRestart: (name, why) => process.stderr.write(`restarting ${name}: ${why}\n`),
          // Tenants and agents of claw.yaml are registered before the worker starts, so it polls for all of them.
          beforeStage1: async () => {
            const session = await openStoreSession(global.stateDir, config);
            try {
              synced = await syncConfig(session, config);
            } finally {
              await session.close();
            }
          },
        },
      );
      const seconds = (performance.now() - began) / 1000;
      output(global, { type: 'up', target: 'local', stateDir: global.stateDir, seconds, components: states, tenants: synced?.tenants, shredded: synced?.shredded, agents: synced?.agents }, () =>
        [
          ...states.map((s) => `${s.name.padEnd(13)} ${s.state === 'running' ? (s.restarted ? 'restarted' : s.started ? 'started' : 'running') : s.state}${s.state === 'not installed' ? '' : `  ${s.address}`}`),
          `platform up in ${seconds.toFixed(1)} s (state: ${global.stateDir}); tenants: ${synced?.tenants.join(', ') || 'none'}`,
          ...(synced?.shredded ?? []).map((id) => `warning: tenant ${id} is shredded (its key is destroyed) and was left out; remove it from ${global.config}`),
        ].join('\n'),
      );
    });
}
