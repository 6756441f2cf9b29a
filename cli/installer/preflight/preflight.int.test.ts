/**
 * Preflight against moto (STS GetCallerIdentity, EC2 DescribeRegions/DescribeVpcs/
 * DescribeAddresses, EKS ListClusters, Service Quotas GetServiceQuota for `vpc`, and the
 * IAM users/policies the simulation reads) and loopback STAND-INS where moto has no
 * implementation: IAM SimulatePrincipalPolicy (evaluating the user's real policies from
 * moto) and the GCP APIs. See testing/standins.ts.
 */
import { randomUUID } from 'node:crypto';
import { AllocateAddressCommand, EC2Client, ReleaseAddressCommand } from '@aws-sdk/client-ec2';
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseConfig } from '../../../core/config/load.js';
import { EXIT } from '../../../core/errors.js';
import { AWS_INSTALLER_POLICY, GCP_INSTALLER_PERMISSIONS, GCP_REQUIRED_APIS } from '../installer-policy.js';
import { spawnCli, tempInstall } from '../testing/helpers.js';
import { awsPreflight, principalArn } from './aws.js';
import { gcpPreflight } from './gcp.js';
import { preflightError } from './report.js';
import { evaluate, startGcpStandIn, startIamSimulatorStandIn, type StandIn } from './testing/standins.js';

const AWS_YAML = 'name: demo\ntarget: aws\naws: { region: us-east-1, availabilityZones: 3 }\n';
const config = parseConfig(AWS_YAML, 'claw.yaml');

let moto: string;
let iamStandIn: StandIn;
const admin = () => new IAMClient({ endpoint: moto, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });

/** A moto IAM user holding the installer policy minus `without`; returns its access key. */
async function installerUser(without: string[]): Promise<{ arn: string; credentials: { accessKeyId: string; secretAccessKey: string } }> {
  const iam = admin();
  const name = `installer-${randomUUID().slice(0, 8)}`;
  const user = await iam.send(new CreateUserCommand({ UserName: name }));
  const policy = {
    ...AWS_INSTALLER_POLICY,
    Statement: AWS_INSTALLER_POLICY.Statement.map((s) => ({ ...s, Action: s.Action.filter((a) => !without.includes(a)) })),
  };
  await iam.send(new PutUserPolicyCommand({ UserName: name, PolicyName: 'claw-installer', PolicyDocument: JSON.stringify(policy) }));
  const key = await iam.send(new CreateAccessKeyCommand({ UserName: name }));
  return { arn: user.User!.Arn!, credentials: { accessKeyId: key.AccessKey!.AccessKeyId!, secretAccessKey: key.AccessKey!.SecretAccessKey! } };
}

beforeAll(async () => {
  moto = inject('motoEndpoint');
  iamStandIn = await startIamSimulatorStandIn(moto);
});
afterAll(async () => {
  await iamStandIn?.stop();
});

const endpoints = () => ({ sts: moto, ec2: moto, eks: moto, servicequotas: moto, iam: iamStandIn.endpoint });

describe('AWS preflight', () => {
  it('a caller with the whole installer policy passes every check', async () => {
    const user = await installerUser([]);
    const result = await awsPreflight(config, { endpoints: endpoints(), credentials: user.credentials });
    expect(result.checks.map((c) => [c.id, c.ok])).toEqual([
      ['credentials', true],
      ['permissions', true],
      ['region', true],
      ['quota:vpcs', true],
      ['quota:elastic-ips', true],
      ['quota:eks-clusters', true],
    ]);
    expect(result.checks[0]!.message).toContain(user.arn); // STS (moto) resolved the access key to the user
    expect(result.passed).toBe(true);
    expect(iamStandIn.calls).toContain('SimulatePrincipalPolicy');
  });

  it('a caller missing kms:CreateKey fails with PF_AWS_PERMISSIONS_MISSING naming the action (exit 3)', async () => {
    const user = await installerUser(['kms:CreateKey']);
    const result = await awsPreflight(config, { endpoints: endpoints(), credentials: user.credentials });
    expect(result.passed).toBe(false);
    const failed = result.checks.filter((c) => !c.ok);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ id: 'permissions', code: 'PF_AWS_PERMISSIONS_MISSING', details: { missing: ['kms:CreateKey'] } });
    expect(failed[0]!.message).toBe(`${user.arn} is missing kms:CreateKey`);
    const error = preflightError(result);
    expect(error.code).toBe('PF_AWS_PERMISSIONS_MISSING');
    expect(error.exitCode).toBe(EXIT.preflightFailed);
    expect(error.hint).toContain('claw installer-policy --target aws');
  });

  it('`claw preflight` as a process: exit 3, one line with the code and the missing action', async () => {
    const user = await installerUser(['kms:CreateKey', 'eks:CreateCluster']);
    const t = tempInstall(AWS_YAML);
    const run = await spawnCli(['--config', t.config, 'preflight'], {
      AWS_ACCESS_KEY_ID: user.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: user.credentials.secretAccessKey,
      AWS_ENDPOINT_URL: moto, // the SDK's standard endpoint override, per service below
      AWS_ENDPOINT_URL_IAM: iamStandIn.endpoint,
      AWS_PROFILE: '',
    });
    expect(run.exitCode).toBe(EXIT.preflightFailed);
    expect(run.stdout).toContain('FAIL  permissions: PF_AWS_PERMISSIONS_MISSING');
    expect(run.stderr).toMatch(/^error PF_AWS_PERMISSIONS_MISSING: preflight: arn:aws:iam::\d{12}:user\/installer-\w+ is missing eks:CreateCluster, kms:CreateKey — attach the installer policy/m);
    expect(run.stderr).not.toContain(user.credentials.secretAccessKey);
  }, 120_000);

  it('no Elastic IP headroom fails PF_AWS_QUOTA with the request command (moto has no ec2 quota: AWS default path)', async () => {
    const user = await installerUser([]);
    const ec2 = new EC2Client({ endpoint: moto, region: 'us-east-1', credentials: user.credentials });
    const allocated: string[] = [];
    try {
      for (let i = 0; i < 4; i++) allocated.push((await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }))).AllocationId!);
      const result = await awsPreflight(config, { endpoints: endpoints(), credentials: user.credentials });
      const eip = result.checks.find((c) => c.id === 'quota:elastic-ips')!;
      expect(eip.ok).toBe(false);
      expect(eip.code).toBe('PF_AWS_QUOTA');
      expect(eip.message).toMatch(/EC2-VPC Elastic IPs: [4-9] used of 5 \(documented default.*\); the install needs 3/);
      expect(eip.hint).toContain('--quota-code L-0263D0A3');
    } finally {
      for (const id of allocated) await ec2.send(new ReleaseAddressCommand({ AllocationId: id }));
    }
  });

  it('bad credentials fail PF_AWS_CREDENTIALS and stop there', async () => {
    const result = await awsPreflight(config, { endpoints: { ...endpoints(), sts: 'http://127.0.0.1:9' }, credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    expect(result.checks).toHaveLength(1);
    expect(result.checks[0]).toMatchObject({ ok: false, code: 'PF_AWS_CREDENTIALS' });
  });

  it('assumed-role callers are simulated as their role; the stand-in evaluates like IAM', () => {
    expect(principalArn('arn:aws:sts::111122223333:assumed-role/ClawInstaller/ci-run-7')).toBe('arn:aws:iam::111122223333:role/ClawInstaller');
    expect(principalArn('arn:aws:iam::111122223333:user/alice')).toBe('arn:aws:iam::111122223333:user/alice');
    const statements = [
      { Effect: 'Allow' as const, Action: ['kms:*', 's3:Get*'], Resource: '*' },
      { Effect: 'Deny' as const, Action: 'kms:ScheduleKeyDeletion', Resource: '*' },
      { Effect: 'Allow' as const, Action: 'iam:CreateRole', Resource: 'arn:aws:iam::*:role/claw-*' },
    ];
    expect(evaluate(statements, 'kms:CreateKey', '*')).toBe('allowed');
    expect(evaluate(statements, 'KMS:createkey', '*')).toBe('allowed');
    expect(evaluate(statements, 'kms:ScheduleKeyDeletion', '*')).toBe('explicitDeny');
    expect(evaluate(statements, 's3:PutObject', '*')).toBe('implicitDeny');
    expect(evaluate(statements, 'iam:CreateRole', 'arn:aws:iam::1:role/claw-preflight')).toBe('allowed');
    expect(evaluate(statements, 'iam:CreateRole', 'arn:aws:iam::1:role/admin')).toBe('implicitDeny');
  });
});

describe('GCP preflight (loopback stand-in)', () => {
  const GCP_YAML = 'name: demo\ntarget: gcp\ngcp: { project: acme-claw-prod, region: europe-west1 }\n';
  const gcpConfig = parseConfig(GCP_YAML, 'claw.yaml');
  const project = (over: Partial<Parameters<typeof startGcpStandIn>[0]> = {}) => ({
    token: 'ya29.test-token',
    email: 'installer@acme-claw-prod.iam.gserviceaccount.com',
    project: 'acme-claw-prod',
    granted: GCP_INSTALLER_PERMISSIONS,
    enabledApis: GCP_REQUIRED_APIS,
    region: { name: 'europe-west1', status: 'UP' as const, quotas: [{ metric: 'CPUS', limit: 72, usage: 8 }, { metric: 'IN_USE_ADDRESSES', limit: 8, usage: 1 }] },
    ...over,
  });
  const urls = (e: string) => ({ oauth2: e, resourceManager: e, serviceUsage: e, compute: e });

  it('passes when everything is granted and enabled', async () => {
    const standIn = await startGcpStandIn(project());
    try {
      const result = await gcpPreflight(gcpConfig, { endpoints: urls(standIn.endpoint), token: 'ya29.test-token' });
      expect(result.checks.map((c) => [c.id, c.ok])).toEqual([['credentials', true], ['permissions', true], ['apis', true], ['region', true], ['quota:in_use_addresses', true], ['quota:cpus', true]]);
      expect(standIn.calls).toEqual(['tokeninfo', 'testIamPermissions', 'services.list', 'regions.get']);
    } finally {
      await standIn.stop();
    }
  });

  it('names missing permissions and disabled APIs with their fixes', async () => {
    const standIn = await startGcpStandIn(project({
      granted: GCP_INSTALLER_PERMISSIONS.filter((p) => p !== 'cloudkms.cryptoKeys.create'),
      enabledApis: GCP_REQUIRED_APIS.filter((a) => a !== 'container.googleapis.com'),
      region: { name: 'europe-west1', status: 'UP', quotas: [{ metric: 'CPUS', limit: 24, usage: 20 }] },
    }));
    try {
      const result = await gcpPreflight(gcpConfig, { endpoints: urls(standIn.endpoint), token: 'ya29.test-token' });
      const failed = Object.fromEntries(result.checks.filter((c) => !c.ok).map((c) => [c.code, c]));
      expect(Object.keys(failed)).toEqual(['PF_GCP_PERMISSIONS_MISSING', 'PF_GCP_API_DISABLED', 'PF_GCP_QUOTA']);
      expect(failed.PF_GCP_PERMISSIONS_MISSING!.message).toBe('missing on acme-claw-prod: cloudkms.cryptoKeys.create');
      expect(failed.PF_GCP_API_DISABLED!.hint).toBe('gcloud services enable container.googleapis.com --project acme-claw-prod');
      expect(failed.PF_GCP_QUOTA!.message).toContain('CPUS: 20 used of 24');
    } finally {
      await standIn.stop();
    }
  });

  it('a rejected token is PF_GCP_CREDENTIALS, and the token never appears in the report', async () => {
    const standIn = await startGcpStandIn(project());
    try {
      const result = await gcpPreflight(gcpConfig, { endpoints: urls(standIn.endpoint), token: 'ya29.stale-secret-token' });
      expect(result.checks).toHaveLength(1);
      expect(result.checks[0]).toMatchObject({ ok: false, code: 'PF_GCP_CREDENTIALS' });
      expect(JSON.stringify(result)).not.toContain('stale-secret-token');
    } finally {
      await standIn.stop();
    }
  });
});
