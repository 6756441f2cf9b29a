/**
 * AwsTenant's trace reader: the read-only role the gateway assumes for the runs pages. Two
 * tenants (a managed key and bucket; a BYOK key and BYOB bucket) synthesized under mocks with
 * the runtime roles; what is asserted is what IAM, KMS and S3 would be given.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type * as Synth from '../../policies/infra/synth.js';
import type { RecordedResource } from '../../policies/infra/synth.js';
import type { PolicyDocument, PolicyStatement } from './tenant-key.js';

let synth: typeof Synth;
let resources: RecordedResource[];
let outputs: Record<string, any>;
const BYOK = 'arn:aws:kms:eu-west-1:111122223333:key/99999999-8888-7777-6666-555555555555';

beforeAll(async () => {
  synth = await import('../../policies/infra/synth.js');
  const aws = await import('@pulumi/aws');
  const { RuntimeIdentity } = await import('./iam.js');
  const { AwsTenant } = await import('./tenant.js');
  ({ resources, outputs } = (await synth.synthesize(() => {
    const provider = new aws.Provider('aws', { region: 'eu-west-1' });
    const ids = new RuntimeIdentity('runtime', { install: 'prod', clusterName: 'claw-prod', accountId: '111122223333', partition: 'aws', provider });
    const common = {
      install: 'prod', region: 'eu-west-1', partition: 'aws', accountId: '111122223333', provider,
      workerRoleArn: ids.workerRoleArn, gatewayRoleArn: ids.gatewayRoleArn, gatewayRoleName: ids.gatewayRoleName, codecServerRoleArn: ids.codecServerRoleArn,
    };
    const acme = new AwsTenant('acme', { ...common, tenant: { id: 'acme', name: 'Acme', key: { type: 'managed' }, bucket: { type: 'managed' } } as never });
    const globex = new AwsTenant('globex', { ...common, tenant: { id: 'globex', name: 'Globex', key: { type: 'byok', ref: BYOK }, bucket: { type: 'byob', name: 'globex-own', prefix: 'claw' } } as never });
    return {
      gateway: ids.gatewayRoleArn,
      worker: ids.workerRoleArn,
      acme: { reader: acme.traceReaderRoleArn, role: acme.roleArn, runtime: acme.runtime.traceReader, key: acme.key.keyArn, bucket: acme.storage.bucketArn },
      globex: { reader: globex.traceReaderRoleArn, role: globex.roleArn, runtime: globex.runtime.traceReader, required: globex.storage.requiredBucketPolicy },
    };
  })) as { resources: RecordedResource[]; outputs: Record<string, any> });
}, 60_000);

const doc = (json: string) => JSON.parse(json) as PolicyDocument;
const resourcesOf = (d: PolicyDocument) => d.Statement.flatMap((s) => [s.Resource ?? []].flat());
const actionsOf = (d: PolicyDocument) => d.Statement.flatMap((s) => [s.Action].flat());

describe('AwsTenant: the trace reader', () => {
  it("is a role of its own under /claw/<install>/trace-readers/, trusted by the gateway role and nothing else", () => {
    for (const id of ['acme', 'globex']) {
      const role = synth.named(resources, 'aws:iam/role:Role', `${id}-trace-reader`);
      expect(role.inputs.path).toBe('/claw/prod/trace-readers/');
      expect(role.inputs.name).toBe(`claw-prod-r-${id}`);
      expect(role.inputs.tags['claw:tenant']).toBe(id);
      expect(doc(role.inputs.assumeRolePolicy).Statement).toEqual([
        { Sid: 'GatewayOnly', Effect: 'Allow', Principal: { AWS: outputs.gateway }, Action: ['sts:AssumeRole', 'sts:TagSession'] },
      ]);
      expect(outputs[id].reader).toBe(role.state.arn);
      expect(outputs[id].runtime).toBe(role.state.arn);
      expect(outputs[id].reader).not.toBe(outputs[id].role);
    }
    // The worker's AssumeRole wildcard (its tenant roles' path) does not name a reader.
    const worker = doc(synth.named(resources, 'aws:iam/rolePolicy:RolePolicy', 'runtime-worker-assume-tenants').inputs.policy);
    for (const r of resourcesOf(worker)) expect(outputs.acme.reader.startsWith(r.replace(/\*$/, ''))).toBe(false);
  });

  it('the gateway may assume exactly the two readers, one policy each, and no tenant role', () => {
    const gatewayName = synth.named(resources, 'aws:iam/role:Role', 'runtime-gateway').state.name;
    const onGateway = synth.ofType(resources, 'aws:iam/rolePolicy:RolePolicy').filter((p) => p.inputs.role === gatewayName);
    expect(onGateway.map((p) => p.name).sort()).toEqual(['acme-gateway-assume-reader', 'globex-gateway-assume-reader']);
    const assumable = onGateway.flatMap((p) => resourcesOf(doc(p.inputs.policy))).sort();
    expect(assumable).toEqual([outputs.acme.reader, outputs.globex.reader].sort());
    for (const p of onGateway) expect(actionsOf(doc(p.inputs.policy))).toEqual(['sts:AssumeRole', 'sts:TagSession']);
  });

  it("reads only its tenant's workgroup, database and tables, lake and result prefixes and key: nothing is '*', nothing is another tenant's", () => {
    const policy = doc(synth.named(resources, 'aws:iam/rolePolicy:RolePolicy', 'acme-trace-reader-policy').inputs.policy);
    const bucket = outputs.acme.bucket as string;
    const glue = (r: string) => `arn:aws:glue:eu-west-1:111122223333:${r}`;
    expect(resourcesOf(policy).sort()).toEqual([
      outputs.acme.key,
      `${bucket}/traces/*`,
      `${bucket}/athena-results/*`,
      bucket,
      bucket,
      glue('catalog'), glue('database/claw_prod_acme'),
      glue('catalog'), glue('database/claw_prod_acme'), glue('table/claw_prod_acme/traces'), glue('table/claw_prod_acme/traces_staging'),
      'arn:aws:athena:eu-west-1:111122223333:workgroup/claw-prod-acme',
    ].sort());
    expect(JSON.stringify(policy)).not.toContain('globex');
    expect(policy.Statement.find((s) => s.Sid === 'LakeList')!.Condition).toEqual({ StringLike: { 's3:prefix': ['traces/*', 'athena-results/*'] } });
    // Read-only: no Glue or lake write, no object delete, no write outside the result location.
    const actions = actionsOf(policy);
    for (const a of ['glue:UpdateTable', 'glue:CreateTable', 's3:DeleteObject', 'kms:Encrypt', 'kms:ReEncryptFrom', 'athena:StopQueryExecution']) expect(actions).not.toContain(a);
    for (const a of actions) expect(a).not.toMatch(/\*/);
    const writes = policy.Statement.filter((s) => [s.Action].flat().includes('s3:PutObject'));
    expect(writes.flatMap((s) => [s.Resource].flat())).toEqual([`${bucket}/athena-results/*`]);
    // The BYOB tenant's under its prefix.
    const globex = doc(synth.named(resources, 'aws:iam/rolePolicy:RolePolicy', 'globex-trace-reader-policy').inputs.policy);
    expect(resourcesOf(globex)).toContain('arn:aws:s3:::globex-own/claw/traces/*');
    expect(resourcesOf(globex)).toContain('arn:aws:s3:::globex-own/claw/athena-results/*');
    expect(JSON.stringify(globex)).not.toContain('acme');
  });

  it("managed key: the key policy lets the reader use the key through S3 and open trace content keys only", () => {
    const key = synth.ofType(resources, 'aws:kms/key:Key', 'acme')[0]!;
    const statements = doc(key.inputs.policy).Statement.filter((s: PolicyStatement) => s.Principal !== '*' && s.Principal?.AWS === outputs.acme.reader);
    expect(statements).toEqual([
      {
        Sid: 'TraceReaderThroughS3', Effect: 'Allow', Principal: { AWS: outputs.acme.reader }, Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: '*',
        Condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com', 'kms:CallerAccount': '111122223333' } },
      },
      {
        Sid: 'TraceReaderContentKeysOnly', Effect: 'Allow', Principal: { AWS: outputs.acme.reader }, Action: ['kms:Decrypt'], Resource: '*',
        Condition: { StringEquals: { 'kms:EncryptionContext:claw:tenant': 'acme', 'kms:EncryptionContext:claw:purpose': 'trace' } },
      },
      { Sid: 'TraceReaderKeyState', Effect: 'Allow', Principal: { AWS: outputs.acme.reader }, Action: ['kms:DescribeKey'], Resource: '*' },
    ]);
    // The other tenant's reader is not in this key's policy.
    expect(key.inputs.policy).not.toContain(outputs.globex.reader);
  });

  it('BYOK key: grants to the reader, bound to the bucket (S3) or to trace content of the tenant; BYOB: the bucket policy names it for the lake and results only', () => {
    const grants = Object.fromEntries(synth.ofType(resources, 'aws:kms/grant:Grant', 'globex').map((g) => [g.name, g.inputs]));
    expect(grants['globex-grant-reader-s3']).toMatchObject({ keyId: BYOK, granteePrincipal: outputs.globex.reader, operations: ['Decrypt', 'GenerateDataKey'], constraints: [{ encryptionContextSubset: { 'aws:s3:arn': 'arn:aws:s3:::globex-own' } }] });
    expect(grants['globex-grant-reader-traces']).toMatchObject({ keyId: BYOK, granteePrincipal: outputs.globex.reader, operations: ['Decrypt'], constraints: [{ encryptionContextSubset: { 'claw:tenant': 'globex', 'claw:purpose': 'trace' } }] });
    expect(grants['globex-grant-reader-state']).toMatchObject({ granteePrincipal: outputs.globex.reader, operations: ['DescribeKey'] });
    expect(synth.ofType(resources, 'aws:kms/grant:Grant', 'acme')).toEqual([]);

    const required = doc(outputs.globex.required);
    const forReader = required.Statement.filter((s) => s.Principal !== '*' && s.Principal?.AWS === outputs.globex.reader);
    expect(forReader.map((s) => [s.Sid, [s.Action].flat(), s.Resource])).toEqual([
      ['ClawTraceReaderLakeObjectsRead', ['s3:GetObject'], 'arn:aws:s3:::globex-own/claw/traces/*'],
      ['ClawTraceReaderQueryResults', ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'], 'arn:aws:s3:::globex-own/claw/athena-results/*'],
      ['ClawTraceReaderLakeList', ['s3:ListBucket'], 'arn:aws:s3:::globex-own'],
      ['ClawTraceReaderBucketLocation', ['s3:GetBucketLocation'], 'arn:aws:s3:::globex-own'],
    ]);
    // Never the blobs.
    expect(JSON.stringify(forReader)).not.toContain('blobs/');
  });
});
