import { Command, Option } from 'commander';
import { ClawError } from '../../core/errors.js';
import { PERMISSIONS_BOUNDARY_ARN } from '../../core/config/schema.js';
import { awsInstallerPolicy, gcpRoleYaml } from '../installer/installer-policy.js';

export function installerPolicyCommand(): Command {
  return new Command('installer-policy')
    .description("print the installer's least-privilege policy (AWS IAM policy JSON, or a GCP custom role YAML)")
    .addOption(new Option('--target <target>', 'which cloud').choices(['aws', 'gcp']).makeOptionMandatory())
    .option('--permissions-boundary <arn>', 'aws: only allow creating roles that carry this boundary (claw.yaml aws.permissionsBoundary)')
    .action((opts: { target: 'aws' | 'gcp'; permissionsBoundary?: string }) => {
      if (opts.permissionsBoundary !== undefined) {
        if (opts.target !== 'aws') throw new ClawError('USAGE', '--permissions-boundary is for --target aws', { hint: 'GCP has no permissions boundaries; drop the option' });
        if (!PERMISSIONS_BOUNDARY_ARN.test(opts.permissionsBoundary)) {
          throw new ClawError('USAGE', `--permissions-boundary '${opts.permissionsBoundary}' is not a managed policy ARN`, { hint: 'arn:aws:iam::<account>:policy/<name>' });
        }
      }
      const aws = awsInstallerPolicy(opts.permissionsBoundary ? { permissionsBoundary: opts.permissionsBoundary } : {});
      process.stdout.write(opts.target === 'aws' ? `${JSON.stringify(aws, null, 2)}\n` : gcpRoleYaml());
    });
}
