/**
 * Where one install's stack lives: backend URL, secrets provider, PULUMI_HOME and work
 * directory. Each install gets its own PULUMI_HOME and workspace so two runs (two installs
 * in a fleet, or a plan next to an apply) never share plugin caches, credentials or locks.
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ClawConfig } from '../../core/config/schema.js';
import { ClawError } from '../../core/errors.js';

export type CloudTarget = 'aws' | 'gcp';

export interface StackSpec {
  /** claw.yaml `name`; also the Pulumi stack name. */
  install: string;
  project: 'claw';
  target: CloudTarget;
  /** Root of everything this install keeps locally. */
  installDir: string;
  backendUrl: string;
  secretsProvider: string;
  pulumiHome: string;
  workDir: string;
  /** Stack config the program's providers read (`aws:region`, `gcp:project`, ...). */
  stackConfig: Record<string, string>;
  /** Extra environment for the engine (credentials profile; never secret values). */
  env: Record<string, string>;
}

export interface StackSpecOverrides {
  backend?: string;
  secretsProvider?: string;
  /** AWS_PROFILE / CLOUDSDK_ACTIVE_CONFIG_NAME for this install (fleets). */
  profile?: string;
}

export function cloudTarget(config: ClawConfig, command = 'this command'): CloudTarget {
  if (config.target === 'aws' || config.target === 'gcp') return config.target;
  throw new ClawError('TARGET_NOT_CLOUD', `${command} works on aws and gcp installs; claw.yaml has target '${config.target}'`, {
    hint: "set 'target: aws' (with an 'aws:' section) or 'target: gcp' in claw.yaml, or use 'claw up' for the local target",
  });
}

export function stackSpec(config: ClawConfig, stateDir: string, overrides: StackSpecOverrides = {}): StackSpec {
  const target = cloudTarget(config);
  const installDir = join(resolve(stateDir), 'installs', config.name);
  const backendUrl = overrides.backend ?? config.state?.backend ?? pathToFileURL(join(installDir, 'backend')).href;
  if (!/^(file|s3|gs):\/\//.test(backendUrl)) {
    throw new ClawError('STATE_BACKEND_INVALID', `unsupported state backend '${backendUrl}'`, {
      hint: 'use file://<dir> (default, under the state dir), s3://<bucket>[/prefix] (aws) or gs://<bucket>[/prefix] (gcp)',
    });
  }
  const secretsProvider = overrides.secretsProvider ?? config.state?.secretsProvider;
  if (!secretsProvider) {
    const example = target === 'aws'
      ? 'awskms://alias/claw-state?region=<region>'
      : 'gcpkms://projects/<project>/locations/<region>/keyRings/<ring>/cryptoKeys/<key>';
    throw new ClawError('STATE_SECRETS_PROVIDER_MISSING', 'no secrets provider for the stack state: its secrets are encrypted with your KMS key', {
      hint: `set 'state: { secretsProvider: ${example} }' in claw.yaml (or --secrets-provider); 'passphrase' only if you must`,
    });
  }
  const wrongKms = (target === 'aws' && secretsProvider.startsWith('gcpkms://')) || (target === 'gcp' && secretsProvider.startsWith('awskms://'));
  if (wrongKms) {
    throw new ClawError('STATE_SECRETS_PROVIDER_INVALID', `secrets provider '${secretsProvider.split('?')[0]}' does not match target '${target}'`, {
      hint: target === 'aws' ? 'use an awskms:// key for an aws install' : 'use a gcpkms:// key for a gcp install',
    });
  }
  if (secretsProvider === 'passphrase' && !process.env.PULUMI_CONFIG_PASSPHRASE && !process.env.PULUMI_CONFIG_PASSPHRASE_FILE) {
    throw new ClawError('STATE_PASSPHRASE_MISSING', "secrets provider 'passphrase' needs PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE", {
      hint: 'export one of them (never commit it), or use your KMS key: awskms:// or gcpkms://',
    });
  }
  const stackConfig: Record<string, string> =
    target === 'aws' ? { 'aws:region': config.aws!.region } : { 'gcp:project': config.gcp!.project, 'gcp:region': config.gcp!.region };
  const env: Record<string, string> = {};
  if (overrides.profile) env[target === 'aws' ? 'AWS_PROFILE' : 'CLOUDSDK_ACTIVE_CONFIG_NAME'] = overrides.profile;
  return {
    install: config.name,
    project: 'claw',
    target,
    installDir,
    backendUrl,
    secretsProvider,
    pulumiHome: join(installDir, 'pulumi-home'),
    workDir: join(installDir, 'workspace'),
    stackConfig,
    env,
  };
}
