/**
 * Test support for components and stacks: Pulumi mocks that record every resource
 * the program registers, with realistic computed outputs (ids, emails, endpoints), so
 * tests can assert types, names and the security-relevant inputs of each child.
 *
 * Usage (STYLE.md): install the mocks *before* importing the module under test.
 *
 *   const recorder = await installRecorder();
 *   const { SandboxNamespace } = await import('./sandbox.js');
 */
import * as pulumi from '@pulumi/pulumi';

export interface RecordedResource {
  type: string;
  name: string;
  inputs: Record<string, any>;
  /** Provider reference (`urn::id`) the resource was registered with, if any. */
  provider?: string;
  custom: boolean;
}

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

export interface Recorder {
  readonly resources: RecordedResource[];
  /** Forget everything recorded so far (between tests). */
  reset(): void;
  /** Resources of one type token, in registration order. */
  ofType(type: string): RecordedResource[];
  /** The one resource of `type` named `name`; throws if absent or ambiguous. */
  get(type: string, name: string): RecordedResource;
}

export async function installRecorder(project = 'claw', stack = 'test'): Promise<Recorder> {
  const resources: RecordedResource[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        resources.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider, custom: args.custom ?? true });
        const state = { ...args.inputs, ...gcpComputed(args.type, args.name, args.inputs) };
        return { id: state.id ?? `${args.name}-id`, state };
      },
      call(args) {
        return gcpCall(args.token, args.inputs) ?? args.inputs;
      },
    },
    project,
    stack,
    false,
  );
  return {
    resources,
    reset: () => void resources.splice(0),
    ofType: (type) => resources.filter((r) => r.type === type),
    get(type, name) {
      const found = resources.filter((r) => r.type === type && r.name === name);
      if (found.length !== 1) {
        const names = resources.filter((r) => r.type === type).map((r) => r.name);
        throw new Error(`expected one ${type} named ${name}, found ${found.length} (have: ${names.join(', ') || 'none'})`);
      }
      return found[0]!;
    },
  };
}

/** The resolved value of an Output (mocks resolve everything, secrets included). */
export function resolve<T>(value: pulumi.Input<T>): Promise<T> {
  return new Promise((done) => pulumi.output(value).apply((v) => done(v as T)));
}

/**
 * Wait until the program has stopped registering resources: registrations happen after
 * their inputs resolve, so a few turns of the event loop after the last one is enough.
 */
export async function settle(recorder: Recorder, quietTurns = 5): Promise<void> {
  let last = -1;
  let quiet = 0;
  while (quiet < quietTurns) {
    await new Promise((r) => setTimeout(r, 2));
    if (recorder.resources.length === last) quiet++;
    else {
      quiet = 0;
      last = recorder.resources.length;
    }
  }
}
