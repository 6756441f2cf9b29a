/**
 * Fleets, for vendor SREs: a fleet file lists installs (each its claw.yaml, backend,
 * secrets provider and credentials profile). Commands run across them with a concurrency
 * limit; `upgrade` goes in waves — a canary wave first, then the rest — and stops on the
 * first failure: installs in flight finish, nothing new starts, later waves are untouched.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { formatPath } from '../../core/config/load.js';
import { ID_PATTERN } from '../../core/config/schema.js';
import { ClawError, isClawError } from '../../core/errors.js';
import { openInstall, upgrade, type Install, type SessionOptions } from './lifecycle.js';
import type { ProgressOptions } from './progress.js';
import type { StackSpecOverrides } from './workspace.js';

export const FleetInstallSchema = z
  .object({
    name: z.string().regex(ID_PATTERN, { message: 'install names are 2-32 lowercase letters, digits and hyphens' }),
    /** The install's claw.yaml, relative to the fleet file. */
    config: z.string().min(1),
    target: z.enum(['aws', 'gcp']),
    backend: z.string().regex(/^(file|s3|gs):\/\/\S+$/).optional(),
    secretsProvider: z.string().optional(),
    /** AWS_PROFILE (aws) or gcloud configuration (gcp) used for this install. */
    profile: z.string().optional(),
    /** Put this install in the canary wave. */
    canary: z.boolean().default(false),
  })
  .strict();

export const FleetSchema = z
  .object({
    apiVersion: z.literal('claw.dev/v1').default('claw.dev/v1'),
    kind: z.literal('Fleet'),
    concurrency: z.number().int().min(1).max(64).default(4),
    waves: z
      .object({
        /** Installs in the canary wave when none is marked `canary: true`. */
        canary: z.number().int().min(1).default(1),
        /** Installs per later wave (default: all the rest in one wave). */
        size: z.number().int().min(1).optional(),
      })
      .strict()
      .default({ canary: 1 }),
    installs: z.array(FleetInstallSchema).min(1, { message: 'a fleet lists at least one install' }),
  })
  .strict()
  .superRefine((fleet, ctx) => {
    const seen = new Set<string>();
    fleet.installs.forEach((install, i) => {
      if (seen.has(install.name)) ctx.addIssue({ code: 'custom', path: ['installs', i, 'name'], message: `duplicate install '${install.name}'` });
      seen.add(install.name);
    });
  });

export type Fleet = z.output<typeof FleetSchema>;
export type FleetInstall = z.output<typeof FleetInstallSchema>;

export interface LoadedFleet extends Fleet {
  file: string;
}

export function loadFleet(file: string): LoadedFleet {
  if (!existsSync(file)) throw new ClawError('FLEET_NOT_FOUND', `no fleet file at ${file}`, { hint: 'pass --fleet <file> (a YAML file with kind: Fleet)' });
  const doc = parseDocument(readFileSync(file, 'utf8'));
  if (doc.errors[0]) throw new ClawError('FLEET_YAML', `${file}: ${doc.errors[0].message.split('\n')[0]}`, { hint: 'fix the YAML syntax' });
  const parsed = FleetSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ClawError('FLEET_INVALID', `${file}: ${formatPath(issue.path) || '(top level)'}: ${issue.message}`, { hint: 'fix the fleet file' });
  }
  return { ...parsed.data, file: resolve(file) };
}

/** The canary wave, then the rest in waves of `waves.size`. */
export function planWaves(fleet: Pick<Fleet, 'installs' | 'waves'>): FleetInstall[][] {
  const marked = fleet.installs.filter((i) => i.canary);
  const canary = marked.length > 0 ? marked : fleet.installs.slice(0, fleet.waves.canary);
  const rest = fleet.installs.filter((i) => !canary.includes(i));
  const size = fleet.waves.size ?? Math.max(rest.length, 1);
  const waves = [canary];
  for (let i = 0; i < rest.length; i += size) waves.push(rest.slice(i, i + size));
  return waves.filter((w) => w.length > 0);
}

/**
 * Run `fn` over items with at most `limit` at once. Once `stopped()` is true no new item
 * starts; items already started run to completion. Returns results of the items that ran.
 */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>, stopped: () => boolean = () => false): Promise<Map<T, R>> {
  const results = new Map<T, R>();
  let next = 0;
  const worker = async () => {
    while (next < items.length && !stopped()) {
      const item = items[next++]!;
      results.set(item, await fn(item));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export function installStateDir(stateDir: string, install: FleetInstall): string {
  // Installs of different customers may share a claw.yaml `name`; the fleet name keeps them apart.
  return join(stateDir, 'fleet', install.name);
}

export function overridesFor(install: FleetInstall): StackSpecOverrides {
  return { backend: install.backend, secretsProvider: install.secretsProvider, profile: install.profile };
}

export async function openFleetInstall(fleet: LoadedFleet, stateDir: string, install: FleetInstall): Promise<Install> {
  const opened = await openInstall(resolve(dirname(fleet.file), install.config), installStateDir(stateDir, install), overridesFor(install));
  if (opened.spec.target !== install.target) {
    throw new ClawError('FLEET_TARGET_MISMATCH', `fleet entry ${install.name} says target ${install.target}, its claw.yaml says ${opened.spec.target}`, {
      hint: 'fix the fleet entry or point it at the right claw.yaml',
    });
  }
  return opened;
}

export type FleetOutcome = 'upgraded' | 'unchanged' | 'failed' | 'untouched';

export interface FleetRow {
  install: string;
  wave: number;
  outcome: FleetOutcome;
  detail: string;
  code?: string;
}

export interface FleetUpgradeSummary {
  to: string;
  stopped: boolean;
  rows: FleetRow[];
  counts: Record<FleetOutcome, number>;
}

const QUIET: ProgressOptions = { json: false, tty: false, color: false, write: () => {} };

export async function fleetUpgrade(
  fleet: LoadedFleet,
  session: SessionOptions,
  to: string,
  options: { concurrency?: number; skipPreflight?: boolean; onRow?: (row: FleetRow, phase: 'start' | 'done') => void } = {},
): Promise<FleetUpgradeSummary> {
  const waves = planWaves(fleet);
  const rows = new Map<string, FleetRow>();
  waves.forEach((wave, w) => wave.forEach((i) => rows.set(i.name, { install: i.name, wave: w, outcome: 'untouched', detail: 'not started' })));
  let failed = false;
  for (const wave of waves) {
    if (failed) break;
    await mapLimit(
      wave,
      options.concurrency ?? fleet.concurrency,
      async (entry) => {
        const row = rows.get(entry.name)!;
        options.onRow?.({ ...row, detail: 'upgrading' }, 'start');
        const installSession: SessionOptions = { ...session, stateDir: installStateDir(session.stateDir, entry), yes: true, nonInteractive: true, progress: QUIET };
        try {
          const install = await openFleetInstall(fleet, session.stateDir, entry);
          const result = await upgrade(install, installSession, to, { skipPreflight: options.skipPreflight, overrides: overridesFor(entry) });
          row.outcome = result.outcome === 'unchanged' ? 'unchanged' : 'upgraded';
          row.detail = result.detail;
        } catch (err) {
          failed = true;
          row.outcome = 'failed';
          row.code = isClawError(err) ? err.code : 'INTERNAL';
          row.detail = isClawError(err) ? err.message : (err as Error).message;
        }
        options.onRow?.(row, 'done');
      },
      () => failed,
    );
  }
  const counts: Record<FleetOutcome, number> = { upgraded: 0, unchanged: 0, failed: 0, untouched: 0 };
  for (const row of rows.values()) counts[row.outcome] += 1;
  return { to, stopped: failed, rows: [...rows.values()], counts };
}
