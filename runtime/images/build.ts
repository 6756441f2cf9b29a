/**
 * `npm run images`: builds the worker, gateway and codec-server images with no daemon and no
 * registry, as CI must:
 *   1. base root filesystems from Debian packages with mmdebstrap (cached under build/images),
 *      imported into buildah as localhost/claw-{run,build}-base and pinned by digest;
 *   2. `buildah bud --isolation chroot --storage-driver vfs` of runtime/images/Containerfile,
 *      one target per service, with BASE/BUILD_BASE overridden to those digests;
 *   3. each image exported as an OCI archive (skopeo) to build/images/<name>.oci.tar, and its
 *      digest written to build/images/manifest.json for the stacks and the smoke test;
 *   4. intermediate layers pruned (vfs keeps a full root filesystem per layer).
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { homedir } from 'node:os';
import { imagesDir, readManifest, storageEnv, SERVICES, type ImageManifest } from './storage.js';

const repo = resolve(import.meta.dirname, '..', '..');
const version = (await import(join(repo, 'package.json'), { with: { type: 'json' } })).default.version as string;

/** Debian suite with Node.js 20 in main. */
const SUITE = 'trixie';
const MIRROR = process.env.CLAW_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
const BASES = {
  run: ['nodejs', 'ca-certificates'],
  // Debian's Node links its dependencies as shared libraries, so a native addon (isolated-vm)
  // links against them too: their -dev packages provide the libfoo.so the linker asks for.
  build: [
    'nodejs', 'npm', 'ca-certificates', 'python3', 'make', 'g++', 'libnode-dev',
    'zlib1g-dev', 'libsimdjson-dev', 'libbrotli-dev', 'libc-ares-dev', 'libnghttp2-dev', 'libnghttp3-dev', 'libngtcp2-dev', 'libicu-dev', 'libuv1-dev',
  ],
} as const;

function run(cmd: string, args: string[], options: SpawnSyncOptions = {}): string {
  const started = Date.now();
  const result = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...storageEnv() }, maxBuffer: 64 * 2 ** 20, ...options });
  if (result.status !== 0) {
    const all = `${result.stderr ?? ''}${result.stdout ?? ''}`.trim();
    // The whole output goes to a file (a compiler error sits far above npm's closing lines).
    mkdirSync(imagesDir, { recursive: true });
    const log = join(imagesDir, `failed-${cmd}-${args[0]}.log`);
    writeFileSync(log, `${cmd} ${args.join(' ')}\n\n${all}\n`);
    const lines = all.split('\n');
    const firstError = lines.findIndex((l) => /\berror\b/i.test(l));
    const excerpt = [...(firstError >= 0 ? lines.slice(firstError, firstError + 10) : []), '...', ...lines.slice(-10)].join('\n');
    throw new Error(`${cmd} ${args.slice(0, 3).join(' ')} failed (exit ${result.status}); full output in ${log}:\n${excerpt}`);
  }
  if (process.env.CLAW_IMAGES_VERBOSE) console.log(`  ${cmd} ${args[0]} ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return (result.stdout ?? '').toString().trim();
}

function imageDigest(ref: string): string {
  return run('buildah', ['inspect', '--type', 'image', '--format', '{{.FromImageDigest}}', ref]);
}

function ensureBase(kind: keyof typeof BASES): string {
  const packages = BASES[kind];
  const tag = createHash('sha256').update(`${SUITE} ${packages.join(' ')}`).digest('hex').slice(0, 12);
  const ref = `localhost/claw-${kind}-base:${tag}`;
  const present = spawnSync('buildah', ['inspect', '--type', 'image', ref], { env: { ...process.env, ...storageEnv() } }).status === 0;
  if (!present) {
    // Base tarballs are cached outside the clone: CI on the same machine reuses them.
    const cacheDir = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'claw', 'images');
    mkdirSync(cacheDir, { recursive: true });
    const tar = join(cacheDir, `${kind}-base-${tag}.tar`);
    if (!existsSync(tar)) {
      console.log(`mmdebstrap ${SUITE} ${kind} base (${packages.join(', ')})`);
      run('mmdebstrap', ['--variant=minbase', `--include=${packages.join(',')}`, '--aptopt=Acquire::Retries "3"', SUITE, tar, MIRROR]);
    }
    const container = run('buildah', ['from', 'scratch']);
    try {
      run('buildah', ['add', container, tar, '/']);
      run('buildah', ['config', '--env', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', container]);
      run('buildah', ['commit', '--quiet', container, ref]);
    } finally {
      run('buildah', ['rm', container]);
    }
  }
  const digest = imageDigest(ref);
  return `${ref.split(':')[0]}@${digest}`;
}

async function main() {
  mkdirSync(imagesDir, { recursive: true });
  const only = process.argv.slice(2);
  const runBase = ensureBase('run');
  const buildBase = ensureBase('build');
  console.log(`bases: ${runBase}\n       ${buildBase}`);
  // Building some services (`npm run images gateway`) keeps the others' entries, if they were built on the same bases.
  const previous = readManifest();
  const kept = previous && previous.version === version && previous.bases.run === runBase && previous.bases.build === buildBase ? previous.images : {};
  const manifest: ImageManifest = { version, bases: { run: runBase, build: buildBase }, images: only.length > 0 ? { ...kept } : {} };
  // An extra CA for a TLS-intercepting proxy to the npm registry, if this machine uses one.
  const caBundle = join(imagesDir, 'extra-ca.crt');
  const extra = process.env.NODE_EXTRA_CA_CERTS;
  writeFileSync(caBundle, extra && existsSync(extra) ? readFileSync(extra) : '');
  for (const service of SERVICES.filter((s) => only.length === 0 || only.includes(s))) {
    const started = Date.now();
    const ref = `localhost/claw-${service}:${version}`;
    run('buildah', [
      // No --layers: with it buildah keeps a working container per instruction until the
      // build ends, and vfs copies the whole root filesystem for each (18 GB for one target).
      // Without it a stage is one container; the build stage reruns per target instead.
      'bud', '--isolation', 'chroot', '--layers=false', '--force-rm', '--format', 'docker', '--quiet',
      '--target', service, '--build-arg', `BASE=${runBase}`, '--build-arg', `BUILD_BASE=${buildBase}`,
      // The build stage's npm cache: the host's, so CI does not download every package twice.
      '--volume', `${process.env.npm_config_cache ?? join(process.env.HOME ?? '/root', '.npm')}:/root/.npm`,
      '--secret', `id=ca,src=${caBundle}`,
      '-t', ref, '-f', 'runtime/images/Containerfile', '.',
    ], { cwd: repo });
    const digest = imageDigest(ref);
    const archive = join(imagesDir, `claw-${service}.oci.tar`);
    rmSync(archive, { force: true });
    run('skopeo', ['copy', '--quiet', `containers-storage:${ref}`, `oci-archive:${archive}:${ref}`]);
    manifest.images[service] = { ref, digest, archive };
    // The vfs driver stores every layer as a full copy of the root filesystem: drop this
    // target's build stage before the next one builds (only tagged images stay).
    run('buildah', ['rmi', '--prune']);
    console.log(`built ${ref} ${digest} in ${((Date.now() - started) / 1000).toFixed(0)} s -> ${archive}`);
  }
  writeFileSync(join(imagesDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`storage after pruning: ${run('du', ['-sh', join(imagesDir, 'storage')]).split('\t')[0]}`);
}

await main();
