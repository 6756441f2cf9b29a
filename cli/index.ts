/**
 * The `claw` program: global options and one `.addCommand` per command file.
 * Commands are thin: they parse options and call services in core/, runtime/, stacks/.
 */
import { Command, Option } from 'commander';
import { initCommand } from './commands/init.js';
import { configCommand } from './commands/config.js';
import { upCommand } from './commands/up.js';
import { downCommand } from './commands/down.js';
import { statusCommand } from './commands/status.js';
import { logsCommand } from './commands/logs.js';
import { tenantCommand } from './commands/tenant.js';
import { agentCommand } from './commands/agent.js';
import { sendCommand } from './commands/send.js';
import { runsCommand } from './commands/runs.js';
import { installCommand } from './commands/install.js';
import { planCommand } from './commands/plan.js';
import { destroyCommand } from './commands/destroy.js';
import { refreshCommand } from './commands/refresh.js';
import { driftCommand } from './commands/drift.js';
import { outputsCommand } from './commands/outputs.js';
import { upgradeCommand } from './commands/upgrade.js';
import { rollbackCommand } from './commands/rollback.js';
import { preflightCommand } from './commands/preflight.js';
import { installerPolicyCommand } from './commands/installer-policy.js';
import { tenantsCommand } from './commands/tenants.js';
import { fleetCommand } from './commands/fleet.js';
import { tracesCommand } from './commands/traces.js';
import { eventsCommand } from './commands/events.js';
import { schedulesCommand } from './commands/schedules.js';
import { secretsCommand } from './commands/secrets.js';
import { channelsCommand } from './commands/channels.js';
import { policyCommand } from './commands/policy.js';
import { auditCommand } from './commands/audit.js';
import { loginCommand, logoutCommand, whoamiCommand } from './commands/login.js';
import { apikeyCommand } from './commands/apikey.js';
import { approveCommand, cancelCommand, denyCommand, runsPendingCommand } from './commands/approve.js';

export function buildProgram(): Command {
  const program = new Command('claw')
    .description('Claw BYOC: run AI agents on your own cloud, or on this machine (the local target)')
    .version('0.1.0')
    .option('--state-dir <dir>', 'where claw keeps its state (default: ~/.claw, or $CLAW_STATE_DIR)')
    .option('-c, --config <file>', 'the install config', 'claw.yaml')
    .option('--json', 'machine-readable output, one JSON object per line')
    .option('-y, --yes', 'answer yes to confirmations (typed confirmations still need --confirm)')
    .addOption(new Option('--non-interactive', 'never prompt; fail where a prompt would be needed (default under CI=true)'))
    .showHelpAfterError('(run with --help for usage)');

  program.addCommand(initCommand());
  program.addCommand(configCommand());
  // the platform and the walking skeleton (FOUNDATION); up/status dispatch aws/gcp to cli/installer/
  for (const command of [upCommand(), downCommand(), statusCommand(), logsCommand(), tenantCommand(), agentCommand(), sendCommand(), runsCommand().addCommand(runsPendingCommand())]) {
    program.addCommand(command);
  }
  // human control of running runs: approvals and cancel (RUNTIME, cli/commands/approve.ts)
  for (const command of [approveCommand(), denyCommand(), cancelCommand()]) program.addCommand(command);
  // aws/gcp lifecycle (INSTALLER, cli/installer/)
  for (const command of [installCommand(), planCommand(), destroyCommand(), refreshCommand(), driftCommand(), outputsCommand(),
    upgradeCommand(), rollbackCommand(), preflightCommand(), installerPolicyCommand(), tenantsCommand(), fleetCommand()]) {
    program.addCommand(command);
  }
  program.addCommand(tracesCommand());
  // runtime: channel events and schedules (RUNTIME)
  program.addCommand(eventsCommand());
  program.addCommand(auditCommand());
  for (const command of [loginCommand(), logoutCommand(), whoamiCommand(), apikeyCommand()]) program.addCommand(command);
  program.addCommand(channelsCommand());
  program.addCommand(schedulesCommand());
  // tenant data protection (DATA)
  program.addCommand(secretsCommand());
  program.addCommand(policyCommand());
  return program;
}
