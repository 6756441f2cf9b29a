/**
 * Smoke test of the built images (`npm run images` first; .ci/run does): each image's
 * entrypoint runs from the image's own mounted root filesystem under bubblewrap (no daemon
 * runs here; `podman run` fails in this sandbox), as uid 10001 on a read-only root, and must
 * answer its health check. The worker connects to the fixtures' Temporal dev server.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, mkdirSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readManifest, storageEnv, SERVICES, type Service } from './storage.js';
import { freePort } from '../../test/fixtures/ports.js';
import { STARTER_CONFIG, STARTER_AGENT } from '../../core/config/starter.js';
import { localTenantKeyring } from '../crypto/index.js';
import { NATIVE_ADDON_PATH } from '../authz/cedar-engine.js';
import { MetadataStore } from '../store/metadata.js';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { openSealedResult, sandboxName, sandboxPod, sandboxSecret } from '../sandbox/kubernetes.js';

const manifest = readManifest();
const KEYLESS = `keyless-${randomBytes(3).toString('hex')}`;
if (!manifest) {
  console.warn('images smoke test skipped: build/images/manifest.json is missing; run `npm run images` first (.ci/run does)');
}

function buildah(args: string[]): string {
  const result = spawnSync('buildah', args, { encoding: 'utf8', env: { ...process.env, ...storageEnv() } });
  if (result.status !== 0) throw new Error(`buildah ${args[0]} failed: ${result.stderr}`);
  return result.stdout.trim();
}

/** The sandboxed node process under a bwrap process (its descendants, read from /proc). */
function serviceProcess(bwrapPid: number): number {
  const queue = [bwrapPid];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    if (pid !== bwrapPid && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'node') return pid;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (children) queue.push(...children.split(/\s+/).map(Number));
    }
  }
  throw new Error(`no node process under bwrap ${bwrapPid}`);
}

/** The first healthy /healthz answer's body. */
async function healthy(port: number, child: ChildProcess, log: () => string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`entrypoint exited with ${child.exitCode}:\n${log()}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) return (await response.json()) as Record<string, unknown>;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no healthy answer on 127.0.0.1:${port} within ${timeoutMs} ms:\n${log()}`);
}

describe.skipIf(!manifest)('runtime images (bubblewrap over the mounted image rootfs)', () => {
  const containers: string[] = [];
  const children: ChildProcess[] = [];
  let configDir: string;
  let stateDir: string;

  beforeAll(async () => {
    configDir = mkdtempSync(join(tmpdir(), 'claw-img-config-'));
    stateDir = mkdtempSync(join(tmpdir(), 'claw-img-state-'));
    // The starter tenant's root key, as `claw up` creates it before it starts the worker.
    const keyring = localTenantKeyring(stateDir);
    await keyring.createTenantKey('acme');
    // And a tenant the store knows whose key is not here (as other tests' tenants in the shared store).
    const store = await MetadataStore.connect(inject('postgresUrl'), { keyring, max: 1 });
    await store.upsertTenant({ id: KEYLESS, name: 'No key here' });
    await store.close();
    writeFileSync(join(configDir, 'claw.yaml'), STARTER_CONFIG);
    mkdirSync(join(configDir, 'agents'));
    writeFileSync(join(configDir, 'agents', 'helper.yaml'), STARTER_AGENT);
    chmodSync(stateDir, 0o777);
  });

  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    for (const container of containers) buildah(['rm', container]);
    rmSync(configDir, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
  });

  it.each(SERVICES as unknown as Service[])('%s starts from its image and answers /healthz', async (service) => {
    const image = manifest!.images[service];
    expect(image, `${service} is in build/images/manifest.json`).toBeDefined();
    const container = buildah(['from', '--pull=never', image!.ref]);
    containers.push(container);
    const rootfs = buildah(['mount', container]);
    // The image's OCI config (the whole inspect document: buildah 1.28 has no `json` template function).
    const config = (JSON.parse(buildah(['inspect', '--type', 'container', container])) as { OCIv1: { config: { Entrypoint: string[]; WorkingDir: string; User: string } } })
      .OCIv1.config;
    expect(config.User).toBe('10001:10001');
    const port = await freePort();
    const child = spawn(
      'bwrap',
      [
        '--ro-bind', rootfs, '/',
        '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp',
        // Mount points under the tmpfs: the image's root is read-only and has no /config.
        '--ro-bind', configDir, '/tmp/claw-config',
        '--bind', stateDir, '/tmp/claw-state',
        '--unshare-user', '--uid', '10001', '--gid', '10001',
        '--unshare-pid', '--unshare-ipc', '--die-with-parent',
        '--chdir', config.WorkingDir,
        '--clearenv',
        '--setenv', 'PATH', '/usr/local/bin:/usr/bin:/bin',
        '--setenv', 'HOME', '/tmp',
        '--setenv', 'NODE_ENV', 'production',
        '--setenv', 'CLAW_PORT', String(port),
        '--setenv', 'CLAW_CONFIG', '/tmp/claw-config/claw.yaml',
        '--setenv', 'CLAW_STATE_DIR', '/tmp/claw-state',
        '--setenv', 'TEMPORAL_ADDRESS', inject('temporalAddress'),
        '--setenv', 'DATABASE_URL', inject('postgresUrl'),
        ...config.Entrypoint,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const health = await healthy(port, child, () => output.slice(-4_000));
    // The worker polls for the starter tenant, whatever other tenants (without keys here) the shared store holds.
    if (service === 'worker') {
      expect(health.tenants, output.slice(-4_000)).toContain('acme');
      expect((health.unavailable as Record<string, { code: string }>)[KEYLESS]).toMatchObject({ code: 'TENANT_KEY_MISSING' });
    }
    // SIGTERM goes to the service itself, as the kubelet sends it to the container's process:
    // bwrap does not forward signals to the sandboxed process.
    const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    process.kill(serviceProcess(child.pid!), 'SIGTERM');
    const code = await exited;
    expect(code, `${service} exits cleanly on SIGTERM`).not.toBeNull();
  });

  it('the worker image decides with the native Cedar engine setup built: the addon loads on the image\'s Node and libc', (ctx) => {
    if (!existsSync(NATIVE_ADDON_PATH)) {
      console.warn(`native Cedar in the image not checked: ${NATIVE_ADDON_PATH} is not built here (npm run native), so the image has cedar-wasm only`);
      ctx.skip();
    }
    const container = buildah(['from', '--pull=never', manifest!.images.worker!.ref]);
    containers.push(container);
    const rootfs = buildah(['mount', container]);
    const dir = mkdtempSync(join(tmpdir(), 'claw-image-cedar-'));
    const check = join(dir, 'check.mts');
    writeFileSync(check, "import { chooseEngine } from '/app/runtime/authz/cedar-engine.ts';\nconsole.log(chooseEngine('native').kind);\n");
    const run = spawnSync('bwrap', [
      '--ro-bind', rootfs, '/', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--ro-bind', check, '/tmp/check.mts',
      '--unshare-all', '--die-with-parent', '--chdir', '/app', '--clearenv', '--setenv', 'PATH', '/usr/local/bin:/usr/bin:/bin',
      'node', 'bin/run-ts.js', '/tmp/check.mts',
    ], { encoding: 'utf8' });
    rmSync(dir, { recursive: true, force: true });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe('native');
  });

  it("the worker image, as the default sandbox image, runs a program tool's pod command and seals its result", () => {
    const container = buildah(['from', '--pull=never', manifest!.images.worker!.ref]);
    containers.push(container);
    const rootfs = buildah(['mount', container]);
    const job = { tenantId: 'acme', tool: 'echo', callId: 'run-1/1/call-1', image: 'worker', command: ['node', '-e', 'process.stdout.write(process.env.CLAW_ARGS)'], args: { text: 'in the pod' } };
    const key = randomBytes(32);
    const pod = sandboxPod(job).spec!.containers[0]!;
    // The pod's environment: its env, then its Secret's data (envFrom), as the kubelet sets them.
    const env = [...pod.env!.map((e) => [e.name, e.value!]), ...Object.entries(sandboxSecret(job, key).stringData!)];
    const run = spawnSync('bwrap', [
      // (The pod's /scratch is an emptyDir mount point the image does not have: /tmp stands in.)
      '--ro-bind', rootfs, '/', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp',
      '--unshare-all', '--uid', '65532', '--gid', '65532', '--die-with-parent', '--chdir', '/tmp', '--clearenv',
      '--setenv', 'PATH', '/usr/local/bin:/usr/bin:/bin',
      ...env.flatMap(([name, value]) => ['--setenv', name!, value!]),
      ...pod.command!,
    ], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).not.toContain('in the pod');
    expect(openSealedResult(run.stdout, key, sandboxName(job))).toMatchObject({ exitCode: 0, stdout: '{"text":"in the pod"}' });
  });
});
