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
      'arn:aws:glue:eu-west-1:111122223333:table/claw_prod_acme/traces',
      'arn:aws:athena:eu-west-1:111122223333:workgroup/claw-prod-acme',
    ]);
    expect(doc.Statement.find((s) => s.Sid === 'TenantBucketList')!.Condition).toEqual({ StringLike: { 's3:prefix': ['claw/*'] } });
    for (const s of doc.Statement) for (const a of [s.Action].flat()) expect(a).not.toMatch(/^\*$|:\*$/);
  });
});
