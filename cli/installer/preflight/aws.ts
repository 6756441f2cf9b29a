/**
 * AWS preflight, before anything is created:
 * 1. credentials: STS GetCallerIdentity;
 * 2. permissions: IAM SimulatePrincipalPolicy of the caller against every action of the
 *    published installer policy (installer-policy.ts);
 * 3. region: enabled for the account (EC2 DescribeRegions, opt-in regions);
 * 4. quotas: VPCs, Elastic IPs and EKS clusters (Service Quotas, falling back to the AWS
 *    default quota) against current usage (EC2 / EKS) plus what the install adds.
 */
import { EC2Client, DescribeAddressesCommand, DescribeRegionsCommand, DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import { EKSClient, ListClustersCommand } from '@aws-sdk/client-eks';
import { IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { GetAWSDefaultServiceQuotaCommand, GetServiceQuotaCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { ClawConfig } from '../../../core/config/schema.js';
import { awsRequiredActions } from '../installer-policy.js';
import { report, type PreflightCheck, type PreflightReport } from './report.js';

export interface AwsPreflightOptions {
  /** Endpoint overrides (tests: moto, or a loopback stand-in). */
  endpoints?: Partial<Record<'sts' | 'iam' | 'ec2' | 'eks' | 'servicequotas', string>>;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/** A quota the install needs headroom in. `fallback` is AWS's documented default. */
interface QuotaNeed {
  id: string;
  service: string;
  code: string;
  name: string;
  fallback: number;
  need: number;
  usage: () => Promise<number>;
}

/** `arn:aws:sts::123:assumed-role/Role/session` → `arn:aws:iam::123:role/Role` (what IAM simulates). */
export function principalArn(callerArn: string): string {
  const m = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(callerArn);
  return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : callerArn;
}

function errorText(err: unknown): string {
  const e = err as { name?: string; message?: string };
  return `${e.name ?? 'Error'}: ${(e.message ?? String(err)).split('\n')[0]}`;
}

export async function awsPreflight(config: ClawConfig, options: AwsPreflightOptions = {}): Promise<PreflightReport> {
  const region = config.aws!.region;
  const base = { region, credentials: options.credentials };
  const sts = new STSClient({ ...base, endpoint: options.endpoints?.sts });
  const checks: PreflightCheck[] = [];

  let callerArn: string;
  let account: string;
  try {
    const identity = await sts.send(new GetCallerIdentityCommand({}));
    callerArn = identity.Arn!;
    account = identity.Account!;
    checks.push({ id: 'credentials', ok: true, message: `calling as ${callerArn}` });
  } catch (err) {
    checks.push({
      id: 'credentials', ok: false, code: 'PF_AWS_CREDENTIALS', message: `no usable AWS credentials (${errorText(err)})`,
      hint: 'configure credentials for the target account: AWS_PROFILE, aws sso login, or an instance/CI role',
    });
    return report('aws', checks);
  }

  checks.push(await permissions(new IAMClient({ ...base, endpoint: options.endpoints?.iam }), principalArn(callerArn), account, { region, install: config.name }));
  const ec2 = new EC2Client({ ...base, endpoint: options.endpoints?.ec2 });
  checks.push(await regionEnabled(ec2, region));
  const eks = new EKSClient({ ...base, endpoint: options.endpoints?.eks });
  const quotas = new ServiceQuotasClient({ ...base, endpoint: options.endpoints?.servicequotas });
  const needs: QuotaNeed[] = [
    { id: 'quota:vpcs', service: 'vpc', code: 'L-F678F1CE', name: 'VPCs per Region', fallback: 5, need: 1,
      usage: async () => (await ec2.send(new DescribeVpcsCommand({}))).Vpcs?.length ?? 0 },
    { id: 'quota:elastic-ips', service: 'ec2', code: 'L-0263D0A3', name: 'EC2-VPC Elastic IPs', fallback: 5, need: config.aws!.availabilityZones,
      usage: async () => (await ec2.send(new DescribeAddressesCommand({}))).Addresses?.length ?? 0 },
    { id: 'quota:eks-clusters', service: 'eks', code: 'L-1194D53C', name: 'EKS clusters', fallback: 100, need: 1,
      usage: async () => (await eks.send(new ListClustersCommand({}))).clusters?.length ?? 0 },
  ];
  for (const need of needs) checks.push(await quota(quotas, need));
  return report('aws', checks);
}

async function permissions(iam: IAMClient, principal: string, account: string, where: { region: string; install: string }): Promise<PreflightCheck> {
  const missing: string[] = [];
  try {
    for (const group of awsRequiredActions(account, where)) {
      const allowed = new Set<string>();
      let marker: string | undefined;
      // The statements' conditions read the install tag: simulated as the stack sets it.
      const ContextEntries = group.context.map((c) => ({ ContextKeyName: c.key, ContextKeyValues: c.values, ContextKeyType: 'string' as const }));
      do {
        const out = await iam.send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: principal, ActionNames: group.actions, ResourceArns: group.resources, ...(ContextEntries.length ? { ContextEntries } : {}), Marker: marker }));
        for (const r of out.EvaluationResults ?? []) if (r.EvalDecision === 'allowed') allowed.add(r.EvalActionName!);
        marker = out.IsTruncated ? out.Marker : undefined;
      } while (marker);
      // Allowed on at least one of the statement's resources: IAM writes are scoped to claw-* names.
      missing.push(...group.actions.filter((a) => !allowed.has(a)));
    }
  } catch (err) {
    return {
      id: 'permissions', ok: false, code: 'PF_AWS_SIMULATE_FAILED', message: `cannot check permissions of ${principal} (${errorText(err)})`,
      hint: "the caller needs iam:SimulatePrincipalPolicy on itself; 'claw installer-policy --target aws' includes it",
    };
  }
  if (missing.length === 0) return { id: 'permissions', ok: true, message: `${principal} has every action of the installer policy` };
  const shown = missing.slice(0, 8).join(', ') + (missing.length > 8 ? `, … (${missing.length} in all)` : '');
  return {
    id: 'permissions', ok: false, code: 'PF_AWS_PERMISSIONS_MISSING', message: `${principal} is missing ${shown}`,
    hint: "attach the installer policy: 'claw installer-policy --target aws > claw-installer.json' and create/attach it to this principal",
    details: { principal, missing },
  };
}

async function regionEnabled(ec2: EC2Client, region: string): Promise<PreflightCheck> {
  try {
    const out = await ec2.send(new DescribeRegionsCommand({ AllRegions: true, RegionNames: [region] }));
    const found = out.Regions?.find((r) => r.RegionName === region);
    if (!found) {
      return { id: 'region', ok: false, code: 'PF_AWS_REGION_UNKNOWN', message: `region ${region} is not available to this account`, hint: "pick another 'aws.region' in claw.yaml" };
    }
    if (found.OptInStatus === 'not-opted-in') {
      return {
        id: 'region', ok: false, code: 'PF_AWS_REGION_NOT_ENABLED', message: `region ${region} is an opt-in region not enabled for this account`,
        hint: `enable it: aws account enable-region --region-name ${region} (or pick another region)`,
      };
    }
    return { id: 'region', ok: true, message: `${region} is enabled` };
  } catch (err) {
    return { id: 'region', ok: false, code: 'PF_AWS_REGION_CHECK_FAILED', message: `cannot check region ${region} (${errorText(err)})`, hint: 'the caller needs ec2:DescribeRegions' };
  }
}

async function quota(client: ServiceQuotasClient, need: QuotaNeed): Promise<PreflightCheck> {
  let limit: number | undefined;
  let source = 'applied quota';
  try {
    limit = (await client.send(new GetServiceQuotaCommand({ ServiceCode: need.service, QuotaCode: need.code }))).Quota?.Value;
  } catch {
    // Quotas never raised have no applied value; AWS answers NoSuchResource. Use the default.
  }
  if (limit === undefined) {
    try {
      limit = (await client.send(new GetAWSDefaultServiceQuotaCommand({ ServiceCode: need.service, QuotaCode: need.code }))).Quota?.Value;
      source = 'AWS default quota';
    } catch {
      limit = need.fallback;
      source = 'documented default (Service Quotas did not answer)';
    }
  }
  let used: number;
  try {
    used = await need.usage();
  } catch (err) {
    return { id: need.id, ok: false, code: 'PF_AWS_QUOTA_CHECK_FAILED', message: `cannot count current ${need.name} (${errorText(err)})`, hint: "the caller needs the Describe/List actions in 'claw installer-policy --target aws'" };
  }
  const free = (limit ?? need.fallback) - used;
  const message = `${need.name}: ${used} used of ${limit} (${source}); the install needs ${need.need}`;
  if (free >= need.need) return { id: need.id, ok: true, message };
  return {
    id: need.id, ok: false, code: 'PF_AWS_QUOTA', message,
    hint: `request an increase: aws service-quotas request-service-quota-increase --service-code ${need.service} --quota-code ${need.code} --desired-value ${used + need.need}`,
    details: { quota: need.code, limit, used, need: need.need },
  };
}
