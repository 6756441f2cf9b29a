/**
 * Identities. Each runtime component has its own Google service account, reachable only
 * from its Kubernetes ServiceAccount through Workload Identity; none of them holds a
 * role on any tenant's data. Each tenant has three identities of its own, one per
 * component, and only those appear in that tenant's key, bucket and dataset bindings:
 *
 *   data   (worker impersonates)        key: encrypt+decrypt, bucket objects, dataset
 *   ingest (gateway impersonates)       key: encrypt only: the gateway cannot read tenant data
 *   decode (codec-server impersonates)  key: decrypt only
 *   traces (gateway impersonates)       dataset: read (dataViewer), BigQuery jobs, key: decrypt
 *                                       (the runs pages: read-only, this tenant's dataset only)
 *
 * A bug in one tenant's code path therefore cannot use another tenant's key: the
 * credentials it holds are not allowed to.
 */
import * as pulumi from '@pulumi/pulumi';
import * as gcp from '@pulumi/gcp';
import { OPENBAO_NAMESPACE, RUNTIME_NAMESPACE, SERVICE_ACCOUNTS, type RuntimeComponentName } from '../../contracts/kubernetes.js';
import { componentServiceAccountId, tenantServiceAccountId, type TenantRole } from '../../contracts/gcp.js';

export const TENANT_ROLE_OF: Record<RuntimeComponentName, TenantRole> = { worker: 'data', gateway: 'ingest', codecServer: 'decode' };

export interface ComponentIdentitiesArgs {
  provider: gcp.Provider;
  project: string;
  install: string;
  /** `<project>.svc.id.goog`; pass the cluster's so bindings wait for the pool to exist. */
  workloadPool: pulumi.Input<string>;
  runtimeNamespace?: string;
}

export function workloadIdentityMember(pool: pulumi.Input<string>, namespace: string, ksa: string): pulumi.Output<string> {
  return pulumi.interpolate`serviceAccount:${pool}[${namespace}/${ksa}]`;
}

/** GSAs of worker, gateway, codec-server and OpenBao, each bound to its one Kubernetes ServiceAccount. */
export class ComponentIdentities extends pulumi.ComponentResource {
  readonly emails: Record<RuntimeComponentName | 'openbao', pulumi.Output<string>>;

  constructor(name: string, args: ComponentIdentitiesArgs, opts?: pulumi.ComponentResourceOptions) {
    super('claw:gcp:ComponentIdentities', name, {}, opts);
    if (!args?.provider) throw new pulumi.InputPropertyError({ propertyPath: 'provider', reason: 'a gcp provider is required' });
    const child = { parent: this, provider: args.provider };
    const namespace = args.runtimeNamespace ?? RUNTIME_NAMESPACE;
    const bindings: [RuntimeComponentName | 'openbao', string, string][] = [
      ['worker', namespace, SERVICE_ACCOUNTS.worker],
      ['gateway', namespace, SERVICE_ACCOUNTS.gateway],
      ['codecServer', namespace, SERVICE_ACCOUNTS.codecServer],
      ['openbao', OPENBAO_NAMESPACE, 'openbao'],
    ];
    const emails = {} as Record<RuntimeComponentName | 'openbao', pulumi.Output<string>>;
    for (const [component, ns, ksa] of bindings) {
      const short = component === 'codecServer' ? 'codec' : component;
      const account = new gcp.serviceaccount.Account(`${name}-${short}`, {
        accountId: componentServiceAccountId(args.install, short),
        displayName: `claw ${args.install} ${short}`,
        project: args.project,
      }, child);
      new gcp.serviceaccount.IAMMember(`${name}-${short}-wi`, {
        serviceAccountId: account.name,
        role: 'roles/iam.workloadIdentityUser',
        member: workloadIdentityMember(args.workloadPool, ns, ksa),
      }, child);
      emails[component] = account.email;
    }
    this.emails = emails;
    this.registerOutputs({ emails });
  }
}

export interface TenantIdentitiesArgs {
  provider: gcp.Provider;
  project: string;
  install: string;
  tenantId: string;
  /** The component GSAs allowed to impersonate this tenant's matching identity. */
  impersonators: Record<RuntimeComponentName, pulumi.Input<string>>;
}

/** A tenant's four identities and who may impersonate each (one component each; the gateway two). */
export class TenantIdentities extends pulumi.ComponentResource {
  readonly emails: Record<RuntimeComponentName, pulumi.Output<string>>;
  /** The trace reader: the gateway impersonates it to query this tenant's dataset, read-only. */
  readonly traceReaderEmail: pulumi.Output<string>;

  constructor(name: string, args: TenantIdentitiesArgs, opts?: pulumi.ComponentResourceOptions) {
    super('claw:gcp:TenantIdentities', name, {}, opts);
    if (!args?.provider) throw new pulumi.InputPropertyError({ propertyPath: 'provider', reason: 'a gcp provider is required' });
    const child = { parent: this, provider: args.provider };
    const identity = (role: TenantRole, impersonator: pulumi.Input<string>) => {
      const account = new gcp.serviceaccount.Account(`${name}-${role}`, {
        accountId: tenantServiceAccountId(args.install, args.tenantId, role),
        displayName: `claw tenant ${args.tenantId} ${role}`,
        description: `claw:tenant=${args.tenantId}`,
        project: args.project,
      }, child);
      new gcp.serviceaccount.IAMMember(`${name}-${role}-impersonate`, {
        serviceAccountId: account.name,
        role: 'roles/iam.serviceAccountTokenCreator',
        member: pulumi.interpolate`serviceAccount:${impersonator}`,
      }, child);
      return account.email;
    };
    const emails = {} as Record<RuntimeComponentName, pulumi.Output<string>>;
    for (const component of ['worker', 'gateway', 'codecServer'] as const) emails[component] = identity(TENANT_ROLE_OF[component], args.impersonators[component]);
    this.traceReaderEmail = identity('traces', args.impersonators.gateway);
    // Trace queries run as BigQuery jobs billed to the project; data access stays per dataset.
    const jobUser = (suffix: string, email: pulumi.Output<string>) => new gcp.projects.IAMMember(`${name}-${suffix}`, {
      project: args.project,
      role: 'roles/bigquery.jobUser',
      member: pulumi.interpolate`serviceAccount:${email}`,
    }, child);
    jobUser('bq-jobs', emails.worker);
    jobUser('traces-bq-jobs', this.traceReaderEmail);
    this.emails = emails;
    this.registerOutputs({ emails, traceReaderEmail: this.traceReaderEmail });
  }
}
