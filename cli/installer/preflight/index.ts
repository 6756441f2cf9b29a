import type { ClawConfig } from '../../../core/config/schema.js';
import { cloudTarget } from '../workspace.js';
import type { AwsPreflightOptions } from './aws.js';
import type { GcpPreflightOptions } from './gcp.js';
import type { PreflightReport } from './report.js';

export interface PreflightOptions {
  aws?: AwsPreflightOptions;
  gcp?: GcpPreflightOptions;
}

/** Run the target's preflight (never throws for a failed check; see report.passed). */
export async function runPreflight(config: ClawConfig, options: PreflightOptions = {}): Promise<PreflightReport> {
  // Each cloud's SDK is loaded only for its own target.
  if (cloudTarget(config, 'preflight') === 'aws') return (await import('./aws.js')).awsPreflight(config, options.aws);
  return (await import('./gcp.js')).gcpPreflight(config, options.gcp);
}
