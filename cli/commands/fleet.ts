import { Command } from 'commander';
import { ClawError, EXIT, isClawError } from '../../core/errors.js';
import { globalOptions, output } from '../context.js';
import { sessionFrom, table } from '../installer/command-kit.js';
import { formatChanges, totalChanges } from '../installer/engine.js';
import { fleetUpgrade, loadFleet, mapLimit, openFleetInstall, planWaves, type FleetInstall, type LoadedFleet } from '../installer/fleet.js';
import { confirm } from '../installer/prompt.js';
import { readHistory } from '../installer/releases.js';

interface FleetOptions {
  fleet: string;
  concurrency?: number;
}

function fleetFrom(command: Command): { fleet: LoadedFleet; concurrency: number } {
  const opts = command.optsWithGlobals<FleetOptions>();
  const fleet = loadFleet(opts.fleet);
  return { fleet, concurrency: opts.concurrency ?? fleet.concurrency };
}

interface Row {
  install: string;
  ok: boolean;
  cells: string[];
  data: Record<string, unknown>;
}

/** Run a read-only action over every install (concurrency-limited), one row each. */
async function across(command: Command, header: string[], fn: (entry: FleetInstall, fleet: LoadedFleet, stateDir: string) => Promise<Omit<Row, 'install'>>): Promise<Row[]> {
  const global = globalOptions(command);
  const { fleet, concurrency } = fleetFrom(command);
  const results = await mapLimit(fleet.installs, concurrency, async (entry) => {
    try {
      return { install: entry.name, ...(await fn(entry, fleet, global.stateDir)) };
    } catch (err) {
      const message = isClawError(err) ? `${err.code}: ${err.message}` : (err as Error).message;
      return { install: entry.name, ok: false, cells: header.slice(1).map((_, i) => (i === header.length - 2 ? message : '-')), data: { error: message } };
    }
  });
  return fleet.installs.map((i) => results.get(i)!);
}

function print(command: Command, type: string, header: string[], rows: Row[], footer: string): void {
  const global = globalOptions(command);
  output(global, { type, installs: rows.map((r) => ({ install: r.install, ok: r.ok, ...r.data })) }, () =>
    `${table(header, rows.map((r) => [r.install, ...r.cells]))}\n${footer}`,
  );
}

export function fleetCommand(): Command {
  const fleet = new Command('fleet')
    .description('run across the installs of a fleet file (vendor SREs)')
    .requiredOption('-f, --fleet <file>', 'the fleet file (kind: Fleet)')
    .option('--concurrency <n>', 'installs at once (default: the fleet file’s concurrency)', (v) => Number(v));

  fleet
    .command('list')
    .description('the installs in the fleet file and the upgrade waves')
    .action(function (this: Command) {
      const global = globalOptions(this);
      const { fleet: f } = fleetFrom(this);
      const waves = planWaves(f);
      const waveOf = (name: string) => waves.findIndex((w) => w.some((i) => i.name === name));
      output(global, { type: 'fleet.list', installs: f.installs.map((i) => ({ ...i, wave: waveOf(i.name) })) }, () =>
        table(['INSTALL', 'TARGET', 'WAVE', 'BACKEND', 'PROFILE', 'CONFIG'], f.installs.map((i) => [i.name, i.target, waveOf(i.name) === 0 ? 'canary' : String(waveOf(i.name)), i.backend ?? '(state dir)', i.profile ?? '-', i.config])),
      );
    });

  fleet
    .command('status')
    .description('each install: installed, resources, release, lock')
    .action(async function (this: Command) {
      const header = ['INSTALL', 'INSTALLED', 'RESOURCES', 'RELEASE', 'DETAIL'];
      const rows = await across(this, header, async (entry, f, stateDir) => {
        const install = await openFleetInstall(f, stateDir, entry);
        const summary = await install.engine.summary();
        const release = readHistory(install.spec.installDir).entries.at(-1)?.version ?? install.config.versions.runtime;
        const detail = summary.locked ? 'LOCKED' : summary.lastUpdate ? `${summary.lastUpdate.kind} ${summary.lastUpdate.result}` : '-';
        return { ok: !summary.locked, cells: [summary.exists ? 'yes' : 'no', String(summary.resourceCount), release, detail], data: { installed: summary.exists, resources: summary.resourceCount, release, locked: summary.locked ?? false } };
      });
      print(this, 'fleet.status', header, rows, `${rows.filter((r) => r.ok).length}/${rows.length} ok`);
      if (rows.some((r) => !r.ok)) process.exitCode = EXIT.error;
    });

  fleet
    .command('plan')
    .description('preview every install; exit 2 with --detailed-exitcode when any has changes')
    .option('--detailed-exitcode', 'exit 2 when any install has changes')
    .action(async function (this: Command, opts: { detailedExitcode?: boolean }) {
      const header = ['INSTALL', 'CHANGES', 'DETAIL'];
      const rows = await across(this, header, async (entry, f, stateDir) => {
        const install = await openFleetInstall(f, stateDir, entry);
        const preview = await install.engine.preview();
        const n = totalChanges(preview.changes);
        return { ok: true, cells: [String(n), formatChanges(preview.changes)], data: { changes: preview.changes, total: n } };
      });
      print(this, 'fleet.plan', header, rows, `${rows.filter((r) => Number(r.data.total ?? 0) > 0).length} of ${rows.length} install(s) have changes`);
      if (rows.some((r) => !r.ok)) process.exitCode = EXIT.error;
      else if (opts.detailedExitcode && rows.some((r) => Number(r.data.total ?? 0) > 0)) process.exitCode = EXIT.changesPending;
    });

  fleet
    .command('drift')
    .description('drift check on every install; exit 4 when any drifted')
    .action(async function (this: Command) {
      const header = ['INSTALL', 'DRIFTED', 'DETAIL'];
      const rows = await across(this, header, async (entry, f, stateDir) => {
        const install = await openFleetInstall(f, stateDir, entry);
        const drift = await install.engine.drift();
        const n = totalChanges(drift.changes);
        return { ok: true, cells: [String(n), n ? drift.steps.map((s) => s.urn.split('::').pop()).join(', ') : 'in sync'], data: { drifted: n } };
      });
      print(this, 'fleet.drift', header, rows, `${rows.filter((r) => Number(r.data.drifted ?? 0) > 0).length} of ${rows.length} install(s) drifted`);
      if (rows.some((r) => !r.ok)) process.exitCode = EXIT.error;
      else if (rows.some((r) => Number(r.data.drifted ?? 0) > 0)) process.exitCode = EXIT.drift;
    });

  fleet
    .command('upgrade')
    .description('upgrade in waves: canary first, then the rest; stop on the first failure')
    .requiredOption('--to <version>', 'the release')
    .option('--skip-preflight', 'do not run preflight per install')
    .action(async function (this: Command, opts: { to: string; skipPreflight?: boolean }) {
      const global = globalOptions(this);
      const session = sessionFrom(global);
      const { fleet: f, concurrency } = fleetFrom(this);
      const waves = planWaves(f);
      if (!(await confirm(session, `upgrade ${f.installs.length} install(s) to ${opts.to} in ${waves.length} wave(s) (canary: ${waves[0]!.map((i) => i.name).join(', ')})?`))) {
        output(global, { type: 'fleet.upgrade.declined' }, () => 'nothing upgraded (not confirmed)');
        return;
      }
      const summary = await fleetUpgrade(f, session, opts.to, {
        concurrency,
        skipPreflight: opts.skipPreflight,
        onRow: (row, phase) => {
          if (global.json) process.stdout.write(`${JSON.stringify({ type: `fleet.install.${phase}`, ...row })}\n`);
          else if (phase === 'done') process.stderr.write(`${row.install}: ${row.outcome} (${row.detail})\n`);
        },
      });
      const c = summary.counts;
      output(global, { type: 'fleet.upgrade.summary', ...summary }, () =>
        [
          table(['INSTALL', 'WAVE', 'RESULT', 'DETAIL'], summary.rows.map((r) => [r.install, r.wave === 0 ? 'canary' : String(r.wave), r.outcome, r.detail])),
          `upgraded ${c.upgraded}, unchanged ${c.unchanged}, failed ${c.failed}, untouched ${c.untouched}${summary.stopped ? ' — stopped at the first failure' : ''}`,
        ].join('\n'),
      );
      if (summary.stopped) {
        const failed = summary.rows.filter((r) => r.outcome === 'failed').map((r) => r.install);
        throw new ClawError('FLEET_UPGRADE_STOPPED', `fleet upgrade to ${opts.to} stopped: ${failed.join(', ')} failed; ${c.untouched} install(s) not touched`, {
          hint: `fix ${failed[0]} ('claw status' with its claw.yaml), then rerun 'claw fleet upgrade --to ${opts.to}' (upgraded installs are skipped as unchanged)`,
        });
      }
    });

  return fleet;
}
