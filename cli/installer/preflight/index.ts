import type { ClawConfig } from '../../../core/config/schema.js';
import { cloudTarget } from '../workspace.js';
import { awsPreflight, type AwsPreflightOptions } from './aws.js';
import { gcpPreflight, type GcpPreflightOptions } from './gcp.js';
import type { PreflightReport } from './report.js';

export interface PreflightOptions {
  aws?: AwsPreflightOptions;
  gcp?: GcpPreflightOptions;
}

/** Run the target's preflight (never throws for a failed check; see report.passed). */
export function runPreflight(config: ClawConfig, options: PreflightOptions = {}): Promise<PreflightReport> {
  return cloudTarget(config, 'preflight') === 'aws' ? awsPreflight(config, options.aws) : gcpPreflight(config, options.gcp);
}
