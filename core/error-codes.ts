/**
 * The catalog of ClawError codes: every literal code raised in production code, where, and
 * the first message it is raised with — gathered from the source, so it cannot drift.
 * docs/errors.md is this catalog rendered (`npm run errors:doc`), and core/error-codes.test.ts
 * fails when the two differ. Codes built at run time (a gateway's answer, a preflight
 * check's own code) are listed by their fixed prefix or source in DYNAMIC.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const DIRS = ['bin', 'cli', 'contracts', 'core', 'runtime', 'stacks', 'components', 'policies'];

/** Codes not written as a literal at the throw site. */
export const DYNAMIC: Record<string, string> = {
  'GATEWAY_<code>': "cli/commands/events.ts: the gateway's own error code, prefixed",
  'PF_<check>': 'cli/installer/preflight: the failed preflight check',
  '<run failure type>': "cli/commands/send.ts: the run's own failure (e.g. RUN_CANCELLED, BUDGET_EXCEEDED)",
  'WORKER_ENV_MISSING, GATEWAY_ENV_MISSING, CODEC_ENV_MISSING': 'runtime/process-config.ts: a process started without its wiring',
};

export interface CodeEntry {
  code: string;
  files: string[];
  message: string;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'testing' ? [] : sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

export function collectCodes(root = ROOT): CodeEntry[] {
  const byCode = new Map<string, CodeEntry>();
  for (const file of DIRS.flatMap((d) => sources(join(root, d)))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/new ClawError\(\s*'([A-Z][A-Z0-9_]+)'\s*,\s*(`[^`]*`|'[^']*'|"[^"]*")?/g)) {
      const rel = relative(root, file);
      const entry = byCode.get(m[1]!) ?? { code: m[1]!, files: [], message: (m[2] ?? '').slice(1, -1).replace(/\$\{[^}]*\}/g, '…') };
      if (!entry.files.includes(rel)) entry.files.push(rel);
      byCode.set(m[1]!, entry);
    }
  }
  return [...byCode.values()].sort((a, b) => a.code.localeCompare(b.code));
}

export function renderCatalog(entries = collectCodes()): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [
    '# Error codes',
    '',
    'Every error `claw` and the runtime raise carries one of these stable codes (`error CODE: message — hint`).',
    'Generated from the source by `npm run errors:doc`; `core/error-codes.test.ts` fails when it is stale.',
    '',
    '| code | raised in | message (first place) |',
    '|---|---|---|',
    ...entries.map((e) => `| \`${e.code}\` | ${e.files.map((f) => `\`${f}\``).join(', ')} | ${cell(e.message)} |`),
    '',
    '## Codes made at run time',
    '',
    ...Object.entries(DYNAMIC).map(([code, where]) => `- \`${code}\`: ${where}`),
    '',
  ].join('\n');
}

if (process.argv.slice(1).some((a) => a.endsWith(join('core', 'error-codes.ts')))) {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(ROOT, 'docs', 'errors.md'), renderCatalog());
  console.log(`docs/errors.md: ${collectCodes().length} codes`);
}
