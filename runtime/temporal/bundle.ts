/**
 * The workflow bundle. Webpack-bundling the workflow code takes seconds, which would
 * dominate `claw up`, and every tenant's Worker needs the same code; so it is built once,
 * cached under the state directory keyed by a hash of the workflow sources and the SDK
 * version, and handed to each Worker as `workflowBundle: { code }`.
 *
 * The bundler already resolves our '.js' import specifiers to the '.ts' sources
 * (@temporalio/worker 1.24 sets webpack `resolve.extensionAlias`), so no webpack hook is needed.
 * Workflow code imports only from runtime/workflows/ at run time (other modules as types
 * only), which is why hashing that directory is enough to invalidate the cache.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from './failure-converter.js';

export const WORKFLOWS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'workflows');
export const WORKFLOWS_PATH = join(WORKFLOWS_DIR, 'index.ts');


function sdkVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('@temporalio/worker/package.json') as { version: string }).version;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return sourceFiles(path);
      return (entry.name.endsWith('.ts') || entry.name.endsWith('.cjs')) && !entry.name.endsWith('.test.ts') ? [path] : [];
    })
    .sort();
}

/** Hash of everything that goes into the bundle. */
export function workflowSourceHash(dir = WORKFLOWS_DIR): string {
  const hash = createHash('sha256').update(`sdk ${sdkVersion()}\n`);
  for (const file of sourceFiles(dir)) hash.update(`${file.slice(dir.length)}\n`).update(readFileSync(file));
  return hash.digest('hex').slice(0, 16);
}

export interface WorkflowBundle {
  code: string;
  /** Where the cached copy is, and whether this call built it. */
  path?: string;
  built: boolean;
}

/** The bundle, from `<cacheDir>/workflow-<hash>.js` if present, else built (and cached if cacheDir). */
export async function workflowBundle(cacheDir?: string): Promise<WorkflowBundle> {
  const file = cacheDir ? join(cacheDir, `workflow-${workflowSourceHash()}.js`) : undefined;
  if (file && existsSync(file)) return { code: readFileSync(file, 'utf8'), path: file, built: false };
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, failureConverterPath: FAILURE_CONVERTER_PATH, logger: quietLogger });
  if (file) {
    mkdirSync(dirname(file), { recursive: true });
    // Write then rename, so a concurrent reader never sees half a bundle.
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, code);
    renameSync(tmp, file);
  }
  return { code, path: file, built: true };
}

// The bundler logs every webpack step at info; only warnings and errors are worth keeping.
const quietLogger = {
  log: (level: string, message: string) => {
    if (level === 'WARN' || level === 'ERROR') console.error(`[bundler] ${message}`);
  },
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (message: string) => console.error(`[bundler] ${message}`),
  error: (message: string) => console.error(`[bundler] ${message}`),
};
