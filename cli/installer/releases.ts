/**
 * Claw releases (what `claw upgrade --to <version>` can move to) and each install's
 * release history (what `claw rollback` goes back to).
 *
 * A release pins the runtime image version and the chart/server versions it was tested
 * with; upgrading writes them into claw.yaml `versions:` so the stack stays a pure
 * function of the file (DESIGN.md invariant 6).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ClawConfig } from '../../core/config/schema.js';
import { ClawError } from '../../core/errors.js';

export interface ReleaseVersions {
  runtime: string;
  temporalChart: string;
  temporalServer: string;
  openbaoChart: string;
  gvisor: string;
}

export const RELEASES: Record<string, ReleaseVersions> = {
  '0.1.0': { runtime: '0.1.0', temporalChart: '0.66.0', temporalServer: '1.29.1', openbaoChart: '0.19.0', gvisor: '20250929.0' },
  '0.2.0': { runtime: '0.2.0', temporalChart: '0.67.0', temporalServer: '1.29.1', openbaoChart: '0.19.2', gvisor: '20251103.0' },
};

export function release(version: string): ReleaseVersions {
  const found = RELEASES[version];
  if (!found) {
    throw new ClawError('UNKNOWN_VERSION', `claw ${version} is not a release this CLI knows`, {
      hint: `use one of: ${Object.keys(RELEASES).join(', ')} (or update the claw CLI)`,
    });
  }
  return found;
}

export function currentVersions(config: ClawConfig): ReleaseVersions {
  const { runtime, temporalChart, temporalServer, openbaoChart, gvisor } = config.versions;
  return { runtime, temporalChart, temporalServer, openbaoChart, gvisor };
}

export interface HistoryEntry {
  /** The release (runtime version) and the exact versions applied. */
  version: string;
  versions: ReleaseVersions;
  at: string;
  outcome: 'applied' | 'failed' | 'rolled-back';
  note?: string;
}

export interface History {
  entries: HistoryEntry[];
}

export function historyFile(installDir: string): string {
  return join(installDir, 'history.json');
}

export function readHistory(installDir: string): History {
  const file = historyFile(installDir);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as History) : { entries: [] };
}

export function recordHistory(installDir: string, entry: Omit<HistoryEntry, 'at'>): void {
  const history = readHistory(installDir);
  history.entries.push({ ...entry, at: new Date().toISOString() });
  const file = historyFile(installDir);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, `${JSON.stringify(history, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

/** The last successfully applied versions other than `current` (what rollback restores). */
export function previousApplied(history: History, current: ReleaseVersions): HistoryEntry | undefined {
  const same = (a: ReleaseVersions) => JSON.stringify(a) === JSON.stringify(current);
  return [...history.entries].reverse().find((e) => e.outcome === 'applied' && !same(e.versions));
}
