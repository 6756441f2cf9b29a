import { Command, Option } from 'commander';
import { AWS_INSTALLER_POLICY, gcpRoleYaml } from '../installer/installer-policy.js';

export function installerPolicyCommand(): Command {
  return new Command('installer-policy')
    .description("print the installer's least-privilege policy (AWS IAM policy JSON, or a GCP custom role YAML)")
    .addOption(new Option('--target <target>', 'which cloud').choices(['aws', 'gcp']).makeOptionMandatory())
    .action((opts: { target: 'aws' | 'gcp' }) => {
      process.stdout.write(opts.target === 'aws' ? `${JSON.stringify(AWS_INSTALLER_POLICY, null, 2)}\n` : gcpRoleYaml());
    });
}
