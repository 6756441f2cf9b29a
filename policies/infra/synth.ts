/**
 * Offline synthesis: run a Pulumi program under `pulumi.runtime.setMocks` and record every
 * resource it declares, with its resolved inputs. This is what the component tests, the
 * guardrail tests, `claw plan --offline` and bench/synth.bench.ts build on — nothing here
 * talks to a cloud or to the Pulumi engine.
 *
 * The mocks answer like the providers would (ARNs in the right form, ids, endpoints), so
 * inputs that depend on another resource's outputs (a bucket's SSE key ARN, a key policy's
 * role ARN) resolve to the values a real deployment would see, and the tests and rules can
 * compare them.
 *
 * Each resource is attributed to a tenant when it sits under a component of type
 * `claw:<cloud>:Tenant` (whose name is the tenant id); see `TENANT_COMPONENT_SUFFIX`.
 */
import { createHash } from 'node:crypto';
import * as pulumi from '@pulumi/pulumi';

/** The account id the mocks pretend to deploy into (a documentation value, not a real account). */
export const MOCK_ACCOUNT = '111122223333';
/** A component whose type ends with this is one tenant's umbrella; its logical name is the tenant id. */
export const TENANT_COMPONENT_SUFFIX = ':Tenant';

export interface RecordedResource {
  type: string;
  name: string;
  /** `urn:pulumi:<stack>::<project>::<type>::<name>` (without the parent type chain). */
  urn: string;
  /** Resolved inputs as the provider would receive them. */
  inputs: Record<string, any>;
  /** Mocked outputs (inputs plus ids/ARNs/endpoints). */
  state: Record<string, any>;
  custom: boolean;
  /** The provider reference (`urn::id`) it was registered with, if any. */
  provider?: string;
  /** The tenant this resource belongs to, or undefined for shared infrastructure. */
  tenant?: string;
  /** The resource option: deleting it from the stack leaves it in the cloud. */
  retainOnDelete?: boolean;
}

export interface SynthResult {
  resources: RecordedResource[];
  outputs: Record<string, unknown>;
}

export type StateHook = (args: pulumi.runtime.MockResourceArgs) => Record<string, any> | undefined;
export type CallHook = (args: pulumi.runtime.MockCallArgs) => Record<string, any> | undefined;

export interface SynthOptions {
  project?: string;
  stack?: string;
  /** Extra mocked outputs for resource types this file does not know (e.g. a cloud's own). */
  state?: StateHook;
  /** Extra invoke answers, consulted before the built-in ones. */
  call?: CallHook;
}

// ------------------------------------------------------------------ GCP

export const MOCK_PROJECT = 'acme-claw-prod';
export const MOCK_PROJECT_NUMBER = '123456789012';

/** Computed outputs a real GCP provider would add, keyed by type token ({} when none). */
export function gcpComputed(type: string, name: string, inputs: Record<string, any>): Record<string, any> {
  const project = inputs.project ?? MOCK_PROJECT;
  switch (type) {
    case 'gcp:serviceaccount/account:Account':
      return { email: `${inputs.accountId}@${project}.iam.gserviceaccount.com`, member: `serviceAccount:${inputs.accountId}@${project}.iam.gserviceaccount.com` };
    case 'gcp:kms/keyRing:KeyRing':
      return { id: `projects/${project}/locations/${inputs.location}/keyRings/${inputs.name ?? name}` };
    case 'gcp:kms/cryptoKey:CryptoKey':
      return { id: `${inputs.keyRing}/cryptoKeys/${inputs.name ?? name}` };
    case 'gcp:storage/bucket:Bucket':
      return { url: `gs://${inputs.name ?? name}`, selfLink: `https://www.googleapis.com/storage/v1/b/${inputs.name ?? name}` };
    case 'gcp:bigquery/dataset:Dataset':
      return { id: `projects/${project}/datasets/${inputs.datasetId}` };
    case 'gcp:container/cluster:Cluster':
      return { endpoint: '10.0.0.2', masterAuth: { clusterCaCertificate: Buffer.from('mock-ca').toString('base64') } };
    case 'gcp:sql/databaseInstance:DatabaseInstance':
      return {
        privateIpAddress: '10.60.0.3',
        connectionName: `${project}:${inputs.region}:${inputs.name ?? name}`,
        // A placeholder, not a certificate: the mocks never dial the instance.
        serverCaCerts: [{ cert: `-----BEGIN CERTIFICATE-----\nmock server CA of ${inputs.name ?? name}\n-----END CERTIFICATE-----\n` }],
      };
    case 'gcp:projects/serviceIdentity:ServiceIdentity': {
      const agent = `service-${MOCK_PROJECT_NUMBER}@gcp-sa-${String(inputs.service).split('.')[0]}.iam.gserviceaccount.com`;
      return { email: agent, member: `serviceAccount:${agent}` };
    }
    case 'random:index/randomPassword:RandomPassword':
      return { result: `mock-password-${name}` };
    case 'gcp:compute/globalAddress:GlobalAddress':
      return { address: '203.0.113.10' };
    case 'gcp:compute/network:Network':
      return { selfLink: `projects/${project}/global/networks/${inputs.name ?? name}` };
    case 'gcp:compute/subnetwork:Subnetwork':
      return { selfLink: `projects/${project}/regions/${inputs.region}/subnetworks/${inputs.name ?? name}` };
    default:
      return {};
  }
}

/** Answers for the GCP invokes the gcp components make; undefined for other tokens. */
export function gcpCall(token: string, inputs: Record<string, any>): Record<string, any> | undefined {
  switch (token) {
    case 'gcp:storage/getProjectServiceAccount:getProjectServiceAccount':
      return { emailAddress: `service-${MOCK_PROJECT_NUMBER}@gs-project-accounts.iam.gserviceaccount.com`, member: `serviceAccount:service-${MOCK_PROJECT_NUMBER}@gs-project-accounts.iam.gserviceaccount.com` };
    case 'gcp:bigquery/getDefaultServiceAccount:getDefaultServiceAccount':
      return { email: `bq-${MOCK_PROJECT_NUMBER}@bigquery-encryption.iam.gserviceaccount.com`, member: `serviceAccount:bq-${MOCK_PROJECT_NUMBER}@bigquery-encryption.iam.gserviceaccount.com` };
    case 'gcp:organizations/getProject:getProject':
      return { number: MOCK_PROJECT_NUMBER, projectId: inputs.projectId ?? MOCK_PROJECT };
    default:
      return undefined;
  }
}

/** A deterministic short hex digest: mocked ids stay stable between runs. */
export function digest(text: string, length = 12): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/**
 * The Kubernetes provider's auto-naming: an object declared without metadata.name gets
 * `<resource name>-<random suffix>` (here a suffix derived from the name, so tests are stable).
 */
function k8sAutoName(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
  const metadata = args.inputs.metadata as Record<string, unknown> | undefined;
  if (!metadata || metadata.name !== undefined) return {};
  return { metadata: { ...metadata, name: `${args.name}-${digest(args.name, 8)}` } };
}

function uuidFrom(text: string): string {
  const h = digest(text, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** What an AWS provider would return for the types the stacks declare. */
function awsState(args: pulumi.runtime.MockResourceArgs, region: string): Record<string, any> {
  const { type, name, inputs } = args;
  const service = type.split(':')[1]?.split('/')[0] ?? 'unknown';
  const physical: string = inputs.name ?? `${name}-${digest(name, 7)}`;
  switch (type) {
    case 'aws:kms/key:Key': {
      const keyId = uuidFrom(`${region}/${name}`);
      return { keyId, arn: `arn:aws:kms:${region}:${MOCK_ACCOUNT}:key/${keyId}` };
    }
    case 'aws:kms/alias:Alias':
      return { arn: `arn:aws:kms:${region}:${MOCK_ACCOUNT}:${inputs.name}` };
    case 'aws:kms/grant:Grant':
      return { grantId: digest(name, 64), grantToken: 'mock-grant-token' };
    case 'aws:iam/role:Role':
      return { name: physical, arn: `arn:aws:iam::${MOCK_ACCOUNT}:role${inputs.path ?? '/'}${physical}`, uniqueId: `AROA${digest(name, 17).toUpperCase()}` };
    case 'aws:iam/policy:Policy':
      return { name: physical, arn: `arn:aws:iam::${MOCK_ACCOUNT}:policy${inputs.path ?? '/'}${physical}` };
    case 'aws:s3/bucket:Bucket': {
      const bucket: string = inputs.bucket ?? `${name}-${digest(name, 7)}`;
      return { bucket, arn: `arn:aws:s3:::${bucket}`, bucketRegionalDomainName: `${bucket}.s3.${region}.amazonaws.com` };
    }
    case 'aws:eks/cluster:Cluster':
      return {
        name: physical,
        arn: `arn:aws:eks:${region}:${MOCK_ACCOUNT}:cluster/${physical}`,
        endpoint: `https://${digest(name, 32).toUpperCase()}.gr7.${region}.eks.amazonaws.com`,
        certificateAuthority: { data: Buffer.from('mock-ca').toString('base64') },
        vpcConfig: { ...(inputs.vpcConfig ?? {}), clusterSecurityGroupId: `sg-${digest(`${name}/cluster-sg`, 17)}` },
      };
    case 'aws:eks/nodeGroup:NodeGroup':
      return { arn: `arn:aws:eks:${region}:${MOCK_ACCOUNT}:nodegroup/${name}`, resources: [{ autoscalingGroups: [{ name: `eks-${name}-${digest(name, 8)}` }] }] };
    case 'aws:lb/loadBalancer:LoadBalancer':
      return { arn: `arn:aws:elasticloadbalancing:${region}:${MOCK_ACCOUNT}:loadbalancer/app/${physical}/${digest(name, 16)}`, dnsName: `${physical}-${digest(name, 9)}.${region}.elb.amazonaws.com`, zoneId: 'Z35SXDOTRQ7X7K' };
    case 'aws:lb/targetGroup:TargetGroup':
      return { arn: `arn:aws:elasticloadbalancing:${region}:${MOCK_ACCOUNT}:targetgroup/${physical}/${digest(name, 16)}` };
    case 'aws:rds/instance:Instance':
      return {
        arn: `arn:aws:rds:${region}:${MOCK_ACCOUNT}:db:${inputs.identifier ?? physical}`,
        address: `${inputs.identifier ?? physical}.${digest(name, 12)}.${region}.rds.amazonaws.com`,
        port: inputs.port ?? 5432,
        masterUserSecrets: [{ secretArn: `arn:aws:secretsmanager:${region}:${MOCK_ACCOUNT}:secret:rds!db-${uuidFrom(name)}`, kmsKeyId: inputs.masterUserSecretKmsKeyId, secretStatus: 'active' }],
      };
    case 'aws:acm/certificate:Certificate':
      return {
        arn: `arn:aws:acm:${region}:${MOCK_ACCOUNT}:certificate/${uuidFrom(name)}`,
        domainValidationOptions: [{ domainName: inputs.domainName, resourceRecordName: `_${digest(name, 32)}.${inputs.domainName}.`, resourceRecordType: 'CNAME', resourceRecordValue: `_${digest(`${name}/v`, 32)}.acm-validations.aws.` }],
      };
    case 'aws:athena/workgroup:Workgroup':
      return { arn: `arn:aws:athena:${region}:${MOCK_ACCOUNT}:workgroup/${physical}` };
    case 'aws:glue/catalogDatabase:CatalogDatabase':
      return { arn: `arn:aws:glue:${region}:${MOCK_ACCOUNT}:database/${physical}`, catalogId: MOCK_ACCOUNT };
    default:
      if (type.startsWith('aws:ec2/') || type.startsWith('aws:ec2transitgateway/')) {
        const prefix = { vpc: 'vpc', subnet: 'subnet', securityGroup: 'sg', natGateway: 'nat', internetGateway: 'igw', eip: 'eipalloc', routeTable: 'rtb', vpcEndpoint: 'vpce', launchTemplate: 'lt' }[type.split('/')[1]!.split(':')[0]!] ?? 'r';
        return { arn: `arn:aws:ec2:${region}:${MOCK_ACCOUNT}:${prefix}/${prefix}-${digest(name, 17)}`, latestVersion: 1 };
      }
      return { arn: `arn:aws:${service}:${region}:${MOCK_ACCOUNT}:${service}/${physical}`, name: physical };
  }
}

function mockId(args: pulumi.runtime.MockResourceArgs, state: Record<string, any>): string {
  const { type, name, inputs } = args;
  if (type.startsWith('kubernetes:')) {
    const meta = inputs.metadata ?? {};
    return meta.namespace ? `${meta.namespace}/${meta.name ?? name}` : (meta.name ?? name);
  }
  if (type === 'aws:s3/bucket:Bucket') return state.bucket;
  if (type === 'aws:kms/key:Key') return state.keyId;
  if (type === 'aws:iam/role:Role') return state.name;
  if (type.startsWith('aws:ec2/')) return String(state.arn).split('/').pop()!;
  // GCP ids are full resource names (a CryptoKey's id is what buckets and datasets reference).
  if (type.startsWith('gcp:') && typeof state.id === 'string') return state.id;
  return `${name}-id`;
}

/** Answers for the invokes the stacks make. */
function builtinCall(args: pulumi.runtime.MockCallArgs, region: string): Record<string, any> {
  const { token, inputs } = args;
  switch (token) {
    case 'aws:index/getAvailabilityZones:getAvailabilityZones': {
      // ap-northeast-1 really has no 'b' zone: the stacks must not assume letters.
      const letters = region === 'ap-northeast-1' ? ['a', 'c', 'd'] : ['a', 'b', 'c', 'd', 'e', 'f'];
      return { names: letters.map((l) => `${region}${l}`), zoneIds: letters.map((_, i) => `${region.slice(0, 3)}-az${i + 1}`), id: region };
    }
    case 'aws:index/getCallerIdentity:getCallerIdentity':
      return { accountId: MOCK_ACCOUNT, arn: `arn:aws:iam::${MOCK_ACCOUNT}:user/installer`, userId: 'AIDAMOCK', id: MOCK_ACCOUNT };
    case 'aws:index/getPartition:getPartition':
      return { partition: 'aws', dnsSuffix: 'amazonaws.com', id: 'aws' };
    case 'aws:index/getRegion:getRegion':
      return { name: region, region, id: region };
    case 'aws:kms/getKey:getKey': {
      // An alias ARN resolves to a key ARN in the alias's account and region.
      const ref = String(inputs.keyId);
      const m = /^arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):/.exec(ref);
      const arn = ref.includes(':key/') || !m ? ref : `arn:${m[1]}:kms:${m[2]}:${m[3]}:key/${uuidFrom(ref)}`;
      return { arn, id: arn, keyId: arn.split('/').pop() };
    }
    case 'aws:secretsmanager/getSecretVersion:getSecretVersion':
      return { arn: inputs.secretId, secretString: JSON.stringify({ username: 'claw', password: 'mock-password-not-a-secret' }), versionId: 'v1', id: inputs.secretId };
    default:
      return inputs;
  }
}

/**
 * The tenant of each resource, found by walking parents up to a `...:Tenant` component,
 * and which resources carry the retainOnDelete option (the mocks do not see options).
 */
class TenantTracker {
  private readonly tenantOf = new WeakMap<pulumi.Resource, string>();
  private readonly byKey = new Map<string, string>();
  private readonly retained = new Set<string>();

  readonly transformation: pulumi.ResourceTransformation = (args) => {
    if (args.opts.retainOnDelete) this.retained.add(`${args.type}::${args.name}`);
    const parentTenant = args.opts.parent ? this.tenantOf.get(args.opts.parent) : undefined;
    const tenant = args.type.endsWith(TENANT_COMPONENT_SUFFIX) ? args.name : parentTenant;
    if (tenant !== undefined) {
      this.tenantOf.set(args.resource, tenant);
      this.byKey.set(`${args.type}::${args.name}`, tenant);
    }
    return undefined;
  };

  lookup(type: string, name: string): string | undefined {
    return this.byKey.get(`${type}::${name}`);
  }

  retainOnDelete(type: string, name: string): boolean {
    return this.retained.has(`${type}::${name}`);
  }
}

/**
 * The mocks behind every synthesis here (`synthesize`, and the component tests' recorder in
 * components/testing/mocks.ts): each registered resource is recorded into `resources` and
 * answered with the state a provider would return (AWS ARNs and ids, GCP names and emails,
 * Kubernetes auto-names); invokes get the built-in answers.
 */
export function recordingMocks(resources: RecordedResource[], options: SynthOptions & { tracker?: TenantTracker } = {}): pulumi.runtime.Mocks {
  const providerRegion = new Map<string, string>();
  const tracker = options.tracker;
  // A provider reference is `<urn>::<id>`; the urn ends with `::<type>::<name>`.
  const regionOf = (provider?: string) => {
    const parts = provider?.split('::') ?? [];
    const byName = parts.length >= 2 ? providerRegion.get(parts[parts.length - 2]!) : undefined;
    return byName ?? [...providerRegion.values()][0] ?? 'us-east-1';
  };
  return {
    newResource(args) {
      if (args.type.startsWith('pulumi:providers:') && args.inputs.region) providerRegion.set(args.name, String(args.inputs.region));
      const region = regionOf(args.provider);
      const extra = options.state?.(args);
      const computed = args.type.startsWith('aws:')
        ? awsState(args, region)
        : args.type.startsWith('gcp:') || args.type.startsWith('random:')
          ? gcpComputed(args.type, args.name, args.inputs)
          : args.type.startsWith('kubernetes:')
            ? k8sAutoName(args)
            : {};
      const state = { ...args.inputs, ...computed, ...(extra ?? {}) };
      const id = args.custom === false ? undefined : (extra?.id ?? mockId(args, state));
      resources.push({
        type: args.type,
        name: args.name,
        urn: `urn:pulumi:${options.stack ?? 'synth'}::${options.project ?? 'claw'}::${args.type}::${args.name}`,
        inputs: args.inputs,
        state,
        custom: args.custom !== false,
        ...(args.provider ? { provider: args.provider } : {}),
        tenant: tracker?.lookup(args.type, args.name),
        ...(tracker?.retainOnDelete(args.type, args.name) ? { retainOnDelete: true } : {}),
      });
      return { id, state };
    },
    call(args) {
      return options.call?.(args) ?? gcpCall(args.token, args.inputs) ?? builtinCall(args, regionOf(args.provider));
    },
  };
}

/**
 * Run `program` inside a mocked Pulumi stack and return every resource it declared
 * (components included) and the stack outputs. Runs are sequential: Pulumi's runtime
 * state is global to the process.
 */
export async function synthesize(
  program: () => Promise<Record<string, unknown> | void> | Record<string, unknown> | void,
  options: SynthOptions = {},
): Promise<SynthResult> {
  const resources: RecordedResource[] = [];
  const tracker = new TenantTracker();
  await pulumi.runtime.setMocks(recordingMocks(resources, { ...options, tracker }), options.project ?? 'claw', options.stack ?? 'synth', false);

  // The SDK captures a stack trace per resource and per promise (source positions, leak
  // reports). Under tsx every capture is source-mapped, which made synthesis ~5x slower;
  // mocks need neither, so turn both off while the program runs.
  const stackTraceLimit = Error.stackTraceLimit;
  const sourceMaps = (process as { sourceMapsEnabled?: boolean }).sourceMapsEnabled ?? false;
  Error.stackTraceLimit = 0;
  process.setSourceMapsEnabled(false);
  let outputs: Record<string, unknown>;
  // A program that throws (bad config) must reject here, once, not as the SDK's unhandled
  // rejections: keep its error aside and give the stack empty outputs.
  let failure: { error: unknown } | undefined;
  try {
    outputs =
      (await pulumi.runtime.runInPulumiStack(async () => {
        pulumi.runtime.registerStackTransformation(tracker.transformation);
        try {
          return (await program()) ?? {};
        } catch (error) {
          failure = { error };
          return {};
        }
      })) ?? {};
    // Resources whose outputs nothing awaited may still be registering.
    await pulumi.runtime.disconnect();
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
    process.setSourceMapsEnabled(sourceMaps);
  }
  if (failure) throw failure.error;
  const unwrapped = JSON.parse(JSON.stringify(outputs, (_k, v) => (pulumi.Resource.isInstance(v) ? undefined : v))) as Record<string, unknown>;
  return { resources, outputs: unwrapped };
}

// ------------------------------------------------------------------ test helpers

/** Resources of one type (optionally one tenant's). */
export function ofType(resources: RecordedResource[], type: string, tenant?: string): RecordedResource[] {
  return resources.filter((r) => r.type === type && (tenant === undefined || r.tenant === tenant));
}

/** The single resource of `type` named `name`; throws with the names present otherwise. */
export function named(resources: RecordedResource[], type: string, name: string): RecordedResource {
  const found = resources.filter((r) => r.type === type && r.name === name);
  if (found.length !== 1) {
    const names = ofType(resources, type).map((r) => r.name);
    throw new Error(`expected one ${type} named '${name}', found ${found.length} (present: ${names.join(', ') || 'none'})`);
  }
  return found[0]!;
}
