/**
 * The `claw` program: global options and one `.addCommand` per command file.
 * Commands are thin: they parse options and call services in core/, runtime/, stacks/.
 *
 * A command's module is imported only when that command runs: `claw status` loads status
 * and what it uses, not the Temporal worker bundler, DuckDB, the OIDC client and the
 * other 35 commands (together ~0.6 s of module loading before any work). The full
 * program — every command — is built for `claw --help`, `claw help`, an unknown command,
 * and when no argv is given (tests).
 */
import { Command, Option } from 'commander';

/** The top-level commands in help order: their names, and how to load them. */
const COMMANDS: { names: string[]; load: () => Promise<Command[]> }[] = [
  { names: ['init'], load: async () => [(await import('./commands/init.js')).initCommand()] },
  { names: ['config'], load: async () => [(await import('./commands/config.js')).configCommand()] },
  // the platform and the walking skeleton (FOUNDATION); up/status dispatch aws/gcp to cli/installer/
  { names: ['up'], load: async () => [(await import('./commands/up.js')).upCommand()] },
  { names: ['down'], load: async () => [(await import('./commands/down.js')).downCommand()] },
  { names: ['status'], load: async () => [(await import('./commands/status.js')).statusCommand()] },
  { names: ['logs'], load: async () => [(await import('./commands/logs.js')).logsCommand()] },
  { names: ['tenant'], load: async () => [(await import('./commands/tenant.js')).tenantCommand()] },
  { names: ['agent'], load: async () => [(await import('./commands/agent.js')).agentCommand()] },
  { names: ['send'], load: async () => [(await import('./commands/send.js')).sendCommand()] },
  {
    names: ['runs'],
    load: async () => {
      const [{ runsCommand }, { runsPendingCommand }] = await Promise.all([import('./commands/runs.js'), import('./commands/approve.js')]);
      return [runsCommand().addCommand(runsPendingCommand())];
    },
  },
  // human control of running runs: approvals and cancel (RUNTIME, cli/commands/approve.ts)
  {
    names: ['approve', 'deny', 'cancel'],
    load: async () => {
      const m = await import('./commands/approve.js');
      return [m.approveCommand(), m.denyCommand(), m.cancelCommand()];
    },
  },
  // aws/gcp lifecycle (INSTALLER, cli/installer/)
  { names: ['install'], load: async () => [(await import('./commands/install.js')).installCommand()] },
  { names: ['plan'], load: async () => [(await import('./commands/plan.js')).planCommand()] },
  { names: ['destroy'], load: async () => [(await import('./commands/destroy.js')).destroyCommand()] },
  { names: ['refresh'], load: async () => [(await import('./commands/refresh.js')).refreshCommand()] },
  { names: ['drift'], load: async () => [(await import('./commands/drift.js')).driftCommand()] },
  { names: ['outputs'], load: async () => [(await import('./commands/outputs.js')).outputsCommand()] },
  { names: ['upgrade'], load: async () => [(await import('./commands/upgrade.js')).upgradeCommand()] },
  { names: ['rollback'], load: async () => [(await import('./commands/rollback.js')).rollbackCommand()] },
  { names: ['preflight'], load: async () => [(await import('./commands/preflight.js')).preflightCommand()] },
  { names: ['installer-policy'], load: async () => [(await import('./commands/installer-policy.js')).installerPolicyCommand()] },
  { names: ['tenants'], load: async () => [(await import('./commands/tenants.js')).tenantsCommand()] },
  { names: ['fleet'], load: async () => [(await import('./commands/fleet.js')).fleetCommand()] },
  { names: ['traces'], load: async () => [(await import('./commands/traces.js')).tracesCommand()] },
  // runtime: channel events and schedules (RUNTIME)
  { names: ['events'], load: async () => [(await import('./commands/events.js')).eventsCommand()] },
  { names: ['audit'], load: async () => [(await import('./commands/audit.js')).auditCommand()] },
  {
    names: ['login', 'logout', 'whoami'],
    load: async () => {
      const m = await import('./commands/login.js');
      return [m.loginCommand(), m.logoutCommand(), m.whoamiCommand()];
    },
  },
  { names: ['apikey'], load: async () => [(await import('./commands/apikey.js')).apikeyCommand()] },
  { names: ['channels'], load: async () => [(await import('./commands/channels.js')).channelsCommand()] },
  { names: ['schedules'], load: async () => [(await import('./commands/schedules.js')).schedulesCommand()] },
  // tenant data protection (DATA)
  { names: ['secrets'], load: async () => [(await import('./commands/secrets.js')).secretsCommand()] },
  { names: ['policy'], load: async () => [(await import('./commands/policy.js')).policyCommand()] },
];

/** Every top-level command name, in help order. */
export const COMMAND_NAMES: readonly string[] = COMMANDS.flatMap((c) => c.names);

/** The options every command takes (no `--version`: its handler prints and exits as it is parsed). */
function withGlobalOptions(program: Command): Command {
  return program
    .option('--state-dir <dir>', 'where claw keeps its state (default: ~/.claw, or $CLAW_STATE_DIR)')
    .option('-c, --config <file>', 'the install config', 'claw.yaml')
    .option('--json', 'machine-readable output, one JSON object per line')
    .option('-y, --yes', 'answer yes to confirmations (typed confirmations still need --confirm)')
    .addOption(new Option('--non-interactive', 'never prompt; fail where a prompt would be needed (default under CI=true)'))
    .showHelpAfterError('(run with --help for usage)');
}

/**
 * The command `argv` (process.argv's shape) runs, read as commander reads it: the first
 * operand after the global options (and their values). Undefined for `claw --help`, a bare
 * `claw`, an option claw does not know before the command, and any name that is not a
 * command (commander then answers with the full program's help or suggestion).
 */
export function commandOf(argv: readonly string[]): string | undefined {
  const { operands } = withGlobalOptions(new Command('claw')).parseOptions(argv.slice(2));
  const name = operands[0];
  return name !== undefined && COMMAND_NAMES.includes(name) ? name : undefined;
}

/**
 * The program, with the command `argv` runs (and only its module loaded), or with every
 * command when argv names none or is not given.
 */
export async function buildProgram(argv?: readonly string[]): Promise<Command> {
  const program = withGlobalOptions(
    new Command('claw').description('Claw BYOC: run AI agents on your own cloud, or on this machine (the local target)').version('0.1.0'),
  );
  const name = argv === undefined ? undefined : commandOf(argv);
  const wanted = name === undefined ? COMMANDS : COMMANDS.filter((c) => c.names.includes(name));
  for (const commands of await Promise.all(wanted.map((c) => c.load()))) {
    for (const command of commands) program.addCommand(command);
  }
  return program;
}
