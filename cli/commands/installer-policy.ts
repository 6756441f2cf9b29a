import { Command, Option } from 'commander';
import { ClawError } from '../../core/errors.js';
import { PERMISSIONS_BOUNDARY_ARN } from '../../core/config/schema.js';
import { existsSync } from 'node:fs';
import { loadConfig } from '../../core/config/load.js';
import { awsInstallerPolicy, gcpRoleYaml } from '../installer/installer-policy.js';
import { globalOptions } from '../context.js';

export function installerPolicyCommand(): Command {
  return new Command('installer-policy')
    .description("print the installer's least-privilege policy (AWS IAM policy JSON, or a GCP custom role YAML); on aws, claw.yaml's own keys and state bucket are named in it")
    .addOption(new Option('--target <target>', 'which cloud').choices(['aws', 'gcp']).makeOptionMandatory())
    .option('--permissions-boundary <arn>', 'aws: only allow creating roles that carry this boundary (claw.yaml aws.permissionsBoundary)')
    .action(function (this: Command, opts: { target: 'aws' | 'gcp'; permissionsBoundary?: string }) {
      if (opts.permissionsBoundary !== undefined) {
        if (opts.target !== 'aws') throw new ClawError('USAGE', '--permissions-boundary is for --target aws', { hint: 'GCP has no permissions boundaries; drop the option' });
        if (!PERMISSIONS_BOUNDARY_ARN.test(opts.permissionsBoundary)) {
          throw new ClawError('USAGE', `--permissions-boundary '${opts.permissionsBoundary}' is not a managed policy ARN`, { hint: 'arn:aws:iam::<account>:policy/<name>' });
        }
      }
      // claw.yaml (--config), when there is one for aws: the tenants' own keys, the state bucket and its key, named one by one.
      const file = globalOptions(this).config;
      const config = opts.target === 'aws' && existsSync(file) ? loadConfig(file) : undefined;
      const aws = awsInstallerPolicy({
        ...(opts.permissionsBoundary ? { permissionsBoundary: opts.permissionsBoundary } : {}),
        ...(config?.target === 'aws' ? { config } : {}),
      });
      process.stdout.write(opts.target === 'aws' ? `${JSON.stringify(aws, null, 2)}\n` : gcpRoleYaml());
    });
}
