import { beforeAll, describe, expect, it } from 'vitest';
import type * as IamModule from './iam.js';
import type * as Synth from '../../policies/infra/synth.js';

let synth: typeof Synth;
let mod: typeof IamModule;
let aws: typeof import('@pulumi/aws');
beforeAll(async () => {
  synth = await import('../../policies/infra/synth.js');
  await synth.synthesize(() => {});
  mod = await import('./iam.js');
  aws = await import('@pulumi/aws');
});

describe('RuntimeIdentity', () => {
  it('one role per component, trusted only by EKS Pod Identity for that namespace and service account', async () => {
    const { resources } = await synth.synthesize(() => {
      const provider = new aws.Provider('aws', { region: 'eu-west-1' });
      new mod.RuntimeIdentity('runtime', { install: 'prod', clusterName: 'claw-prod', accountId: '111122223333', partition: 'aws', provider });
    });
    const associations = synth.ofType(resources, 'aws:eks/podIdentityAssociation:PodIdentityAssociation').map((a) => `${a.inputs.namespace}/${a.inputs.serviceAccount}`).sort();
    expect(associations).toEqual(['claw/claw-codec-server', 'claw/claw-gateway', 'claw/claw-worker', 'openbao/openbao']);
    const worker = synth.named(resources, 'aws:iam/role:Role', 'runtime-worker');
    const trust = JSON.parse(worker.inputs.assumeRolePolicy).Statement[0];
    expect(trust.Principal).toEqual({ Service: 'pods.eks.amazonaws.com' });
    expect(trust.Condition.StringEquals).toEqual({
      'aws:SourceAccount': '111122223333',
      'aws:RequestTag/kubernetes-namespace': 'claw',
      'aws:RequestTag/kubernetes-service-account': 'claw-worker',
    });
  });

  it('only the worker has a policy, and it may only assume the install\'s tenant roles', async () => {
    const { resources } = await synth.synthesize(() => {
      const provider = new aws.Provider('aws', { region: 'eu-west-1' });
      new mod.RuntimeIdentity('runtime', { install: 'prod', clusterName: 'claw-prod', accountId: '111122223333', partition: 'aws', provider });
    });
    const policies = synth.ofType(resources, 'aws:iam/rolePolicy:RolePolicy');
    expect(policies.map((p) => p.name)).toEqual(['runtime-worker-assume-tenants']);
    expect(JSON.parse(policies[0]!.inputs.policy).Statement).toEqual([
      { Sid: 'AssumeTenantRoles', Effect: 'Allow', Action: ['sts:AssumeRole', 'sts:TagSession'], Resource: 'arn:aws:iam::111122223333:role/claw/prod/tenants/*' },
    ]);
    expect(synth.ofType(resources, 'aws:iam/rolePolicyAttachment:RolePolicyAttachment')).toEqual([]);
  });
});

describe('tenantRolePolicy', () => {
  it('names only the tenant\'s key, objects under its prefix, its Glue database/table and its workgroup', () => {
    const doc = mod.tenantRolePolicy({
      partition: 'aws', region: 'eu-west-1', accountId: '111122223333',
      keyArn: 'arn:aws:kms:eu-west-1:444455556666:key/k', bucketArn: 'arn:aws:s3:::acme-data', prefix: 'claw/',
      databaseName: 'claw_prod_acme', tableName: 'traces', workgroupName: 'claw-prod-acme',
    });
    const resources = doc.Statement.flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]));
    expect(resources).toEqual([
      'arn:aws:kms:eu-west-1:444455556666:key/k',
      'arn:aws:s3:::acme-data/claw/*',
      'arn:aws:s3:::acme-data',
      'arn:aws:glue:eu-west-1:111122223333:catalog',
      'arn:aws:glue:eu-west-1:111122223333:database/claw_prod_acme',
      'arn:aws:glue:eu-west-1:111122223333:catalog',
      'arn:aws:glue:eu-west-1:111122223333:database/claw_prod_acme',
      'arn:aws:glue:eu-west-1:111122223333:table/claw_prod_acme/traces',
      'arn:aws:glue:eu-west-1:111122223333:table/claw_prod_acme/traces_staging',
      'arn:aws:glue:eu-west-1:111122223333:catalog',
      'arn:aws:glue:eu-west-1:111122223333:database/claw_prod_acme',
      'arn:aws:glue:eu-west-1:111122223333:table/claw_prod_acme/traces',
      'arn:aws:athena:eu-west-1:111122223333:workgroup/claw-prod-acme',
    ]);
    expect(doc.Statement.find((s) => s.Sid === 'TenantBucketList')!.Condition).toEqual({ StringLike: { 's3:prefix': ['claw/*'] } });
    for (const s of doc.Statement) for (const a of [s.Action].flat()) expect(a).not.toMatch(/^\*$|:\*$/);
  });

  // What writeSegment + the MERGE do through Athena with the role's credentials: read both
  // tables (plan the MERGE from traces_staging, into traces), commit the Iceberg snapshot to
  // traces (glue:UpdateTable). Partition projection on the staging table: no partition writes.
  it('grants exactly the lake actions on exactly the tenant\'s two tables, and none on another tenant\'s', () => {
    const input = {
      partition: 'aws', region: 'eu-west-1', accountId: '111122223333',
      keyArn: 'arn:aws:kms:eu-west-1:111122223333:key/k', bucketArn: 'arn:aws:s3:::acme-data', prefix: '',
      databaseName: 'claw_prod_acme', tableName: 'traces', workgroupName: 'claw-prod-acme',
    };
    const doc = mod.tenantRolePolicy(input);
    const glueOf = (arn: string) =>
      doc.Statement.filter((s) => s.Effect === 'Allow' && [s.Resource].flat().includes(arn)).flatMap((s) => [s.Action].flat()).filter((a) => a.startsWith('glue:')).sort();
    const arn = (r: string) => `arn:aws:glue:eu-west-1:111122223333:${r}`;
    expect(glueOf(arn('table/claw_prod_acme/traces'))).toEqual(['glue:GetPartitions', 'glue:GetTable', 'glue:GetTables', 'glue:UpdateTable']);
    expect(glueOf(arn('table/claw_prod_acme/traces_staging'))).toEqual(['glue:GetPartitions', 'glue:GetTable', 'glue:GetTables']);
    expect(glueOf(arn('database/claw_prod_acme'))).toEqual(['glue:GetDatabase', 'glue:GetPartitions', 'glue:GetTable', 'glue:GetTables', 'glue:UpdateTable']);
    // Every Glue resource is the catalog (the required ancestor), the tenant's database or one of its two tables.
    const glueResources = new Set(doc.Statement.filter((s) => [s.Action].flat().some((a) => a.startsWith('glue:'))).flatMap((s) => [s.Resource].flat()));
    expect([...glueResources].sort()).toEqual([arn('catalog'), arn('database/claw_prod_acme'), arn('table/claw_prod_acme/traces'), arn('table/claw_prod_acme/traces_staging')]);
    // Nothing creates, deletes or repartitions a table: the stack declares them.
    const actions = doc.Statement.flatMap((s) => [s.Action].flat());
    for (const a of ['glue:CreateTable', 'glue:DeleteTable', 'glue:BatchCreatePartition', 'glue:CreatePartition', 'glue:UpdatePartition', 'glue:DeleteDatabase']) expect(actions).not.toContain(a);
    for (const a of actions) expect(a).not.toMatch(/\*/);
    // Another tenant's tables (and database) are not covered.
    for (const other of ['table/claw_prod_globex/traces', 'table/claw_prod_globex/traces_staging', 'database/claw_prod_globex', 'table/claw_prod_acme/other']) expect(glueOf(arn(other))).toEqual([]);
    expect(mod.tenantRolePolicy({ ...input, databaseName: 'claw_prod_globex' }).Statement.flatMap((s) => [s.Resource].flat()).filter((r) => r?.includes('claw_prod_acme'))).toEqual([]);
  });
});
