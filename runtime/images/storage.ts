/** Where the image build keeps its containers storage and outputs (build/images, vfs driver). */
import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const SERVICES = ['worker', 'gateway', 'codec-server'] as const;
export type Service = (typeof SERVICES)[number];

export interface ImageManifest {
  version: string;
  bases: { run: string; build: string };
  images: Partial<Record<Service, { ref: string; digest: string; archive: string }>>;
}

export const imagesDir = resolve(import.meta.dirname, '..', '..', 'build', 'images');

/**
 * Env that points buildah and skopeo at a private vfs storage under build/images, so the
 * build needs no daemon, no overlay support and leaves the machine's own storage alone.
 */
export function storageEnv(): Record<string, string> {
  const conf = join(imagesDir, 'storage.conf');
  if (!existsSync(conf)) {
    mkdirSync(imagesDir, { recursive: true });
    writeFileSync(
      conf,
      `[storage]\ndriver = "vfs"\ngraphroot = "${join(imagesDir, 'storage')}"\nrunroot = "${join(imagesDir, 'run')}"\n`,
    );
  }
  return { CONTAINERS_STORAGE_CONF: conf, STORAGE_DRIVER: 'vfs', BUILDAH_ISOLATION: 'chroot' };
}

export function readManifest(): ImageManifest | undefined {
  const file = join(imagesDir, 'manifest.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ImageManifest) : undefined;
}
