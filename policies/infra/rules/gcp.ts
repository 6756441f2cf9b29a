/**
 * Guardrails for the GCP resources of an install (DESIGN.md invariants 1 and 4), the
 * counterpart of rules/aws.ts: everything that stores tenant or platform data is encrypted
 * with a customer-managed Cloud KMS key (CMEK); nothing is public (no allUsers /
 * allAuthenticatedUsers binding anywhere, public access prevention on buckets); keys
 * rotate; each tenant's bucket, dataset and tables use that tenant's key and no other, and
 * no binding on a tenant's key, bucket or dataset names another tenant's identity; the
 * gateway's tenant identity may only encrypt, its trace reader only view the dataset and
 * decrypt; the sandbox pool is GKE Sandbox and tainted.
 *
 * Tenant attribution: managed keys, buckets and datasets carry the label `claw-tenant`;
 * tenant service accounts carry `claw:tenant=<id>` in their description (names.ts, iam.ts).
 */
import type { PolicyResource, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from '@pulumi/policy';
import { POOL_LABEL, POOLS, SANDBOX_TAINT } from '../../../contracts/kubernetes.js';
import type { GuardrailPolicy } from './common.js';

export const GCP_TENANT_LABEL = 'claw-tenant';
const TENANT_DESCRIPTION = /^claw:tenant=([a-z0-9-]+)$/;

const T = {
  bucket: 'gcp:storage/bucket:Bucket',
  bucketMember: 'gcp:storage/bucketIAMMember:BucketIAMMember',
  bucketBinding: 'gcp:storage/bucketIAMBinding:BucketIAMBinding',
  bucketPolicy: 'gcp:storage/bucketIAMPolicy:BucketIAMPolicy',
  bucketAcl: 'gcp:storage/bucketACL:BucketACL',
  cryptoKey: 'gcp:kms/cryptoKey:CryptoKey',
  keyMember: 'gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember',
  keyBinding: 'gcp:kms/cryptoKeyIAMBinding:CryptoKeyIAMBinding',
  keyPolicy: 'gcp:kms/cryptoKeyIAMPolicy:CryptoKeyIAMPolicy',
  ringMember: 'gcp:kms/keyRingIAMMember:KeyRingIAMMember',
  ringBinding: 'gcp:kms/keyRingIAMBinding:KeyRingIAMBinding',
  dataset: 'gcp:bigquery/dataset:Dataset',
  datasetMember: 'gcp:bigquery/datasetIamMember:DatasetIamMember',
  datasetBinding: 'gcp:bigquery/datasetIamBinding:DatasetIamBinding',
  datasetPolicy: 'gcp:bigquery/datasetIamPolicy:DatasetIamPolicy',
  datasetAccess: 'gcp:bigquery/datasetAccess:DatasetAccess',
  table: 'gcp:bigquery/table:Table',
  sql: 'gcp:sql/databaseInstance:DatabaseInstance',
  cluster: 'gcp:container/cluster:Cluster',
  nodePool: 'gcp:container/nodePool:NodePool',
  sslPolicy: 'gcp:compute/sSLPolicy:SSLPolicy',
  account: 'gcp:serviceaccount/account:Account',
  projectMember: 'gcp:projects/iAMMember:IAMMember',
  projectBinding: 'gcp:projects/iAMBinding:IAMBinding',
} as const;

/** Members that mean "anyone". */
export const PUBLIC_MEMBERS = ['allUsers', 'allAuthenticatedUsers'] as const;
const isPublic = (member: unknown) => (PUBLIC_MEMBERS as readonly string[]).includes(String(member));

/** Members a binding-like resource grants: `member`, `members`, or an IAM policy document's bindings. */
export function membersOf(props: Record<string, any>): string[] {
  const out: string[] = [];
  if (props.member !== undefined) out.push(String(props.member));
  for (const m of props.members ?? []) out.push(String(m));
  if (typeof props.policyData === 'string') {
    try {
      for (const b of (JSON.parse(props.policyData) as { bindings?: { members?: string[] }[] }).bindings ?? []) out.push(...(b.members ?? []).map(String));
    } catch {
      // unknown during a preview
    }
  }
  // bigquery Dataset.accesses / DatasetAccess: specialGroup 'allAuthenticatedUsers', iamMember 'allUsers'.
  for (const a of [...(props.accesses ?? []), ...(props.specialGroup || props.iamMember ? [props] : [])]) {
    if (a.specialGroup === 'allAuthenticatedUsers') out.push('allAuthenticatedUsers');
    if (a.iamMember) out.push(String(a.iamMember));
  }
  return out;
}

const labelTenant = (props: Record<string, any> | undefined) => (props?.labels ?? {})[GCP_TENANT_LABEL] as string | undefined;

function forType(types: string | string[], check: (props: Record<string, any>, report: ReportViolation, args: ResourceValidationArgs) => void) {
  const wanted = new Set(Array.isArray(types) ? types : [types]);
  return (args: ResourceValidationArgs, report: ReportViolation) => {
    if (wanted.has(args.type)) check(args.props ?? {}, report, args);
  };
}

/** Cloud KMS durations are seconds with an 's' suffix. */
const seconds = (value: unknown) => {
  const m = /^(\d+(?:\.\d+)?)s$/.exec(String(value ?? ''));
  return m ? Number(m[1]) : undefined;
};
const MAX_ROTATION_SECONDS = 90 * 24 * 3600;

// ------------------------------------------------------------------ encryption

const gcsCmek: ResourceValidationPolicy = {
  name: 'gcp-gcs-cmek',
  description: 'Buckets encrypt by default with a customer-managed Cloud KMS key (CMEK), not Google-managed encryption.',
  enforcementLevel: 'mandatory',
  validateResource: forType(T.bucket, (props, report) => {
    if (!props.encryption?.defaultKmsKeyName) report(`bucket ${props.name ?? '?'} has no default KMS key: objects would be encrypted with Google-managed keys, which cannot be shredded per tenant`);
  }),
};

const bigqueryCmek: ResourceValidationPolicy = {
  name: 'gcp-bigquery-cmek',
  description: 'BigQuery datasets (default encryption) and tables are encrypted with a customer-managed Cloud KMS key.',
  enforcementLevel: 'mandatory',
  validateResource: forType([T.dataset, T.table], (props, report, args) => {
    if (args.type === T.dataset && !props.defaultEncryptionConfiguration?.kmsKeyName) report(`dataset ${props.datasetId ?? '?'} has no default KMS key: its tables would be encrypted with Google-managed keys`);
    if (args.type === T.table && !props.encryptionConfiguration?.kmsKeyName) report(`table ${props.tableId ?? '?'} names no KMS key`);
  }),
};

const kmsRotation: ResourceValidationPolicy = {
  name: 'gcp-kms-rotation',
  description: 'Symmetric Cloud KMS keys rotate automatically at least every 90 days.',
  enforcementLevel: 'mandatory',
  validateResource: forType(T.cryptoKey, (props, report) => {
    if ((props.purpose ?? 'ENCRYPT_DECRYPT') !== 'ENCRYPT_DECRYPT') return;
    const period = seconds(props.rotationPeriod);
    if (period === undefined) report(`key ${props.name ?? '?'} has no rotation period`);
    else if (period > MAX_ROTATION_SECONDS) report(`key ${props.name ?? '?'} rotates every ${Math.round(period / 86400)} days (> 90)`);
  }),
};

const sqlEncryptedPrivate: ResourceValidationPolicy = {
  name: 'gcp-sql-cmek-private',
  description: 'Cloud SQL instances are CMEK-encrypted, have no public IP, require TLS, are backed up with point-in-time recovery and deletion-protected.',
  enforcementLevel: 'mandatory',
  validateResource: forType(T.sql, (props, report) => {
    const s = props.settings ?? {};
    if (!props.encryptionKeyName) report('the instance is encrypted with Google-managed keys, not a customer key');
    if (s.ipConfiguration?.ipv4Enabled !== false) report('the instance has a public IPv4 address');
    if (s.ipConfiguration?.sslMode !== 'ENCRYPTED_ONLY' && s.ipConfiguration?.sslMode !== 'TRUSTED_CLIENT_CERTIFICATE_REQUIRED') report(`connections without TLS are allowed (sslMode is '${s.ipConfiguration?.sslMode ?? 'unset'}')`);
    if (s.backupConfiguration?.enabled !== true) report('backups are off');
    else if (s.backupConfiguration?.pointInTimeRecoveryEnabled !== true) report('point-in-time recovery is off');
    if (props.deletionProtection !== true) report('deletion protection is off');
  }),
};

const gkeHardened: ResourceValidationPolicy = {
  name: 'gcp-gke-hardened',
  description: 'GKE clusters encrypt Secrets with a customer key, have private nodes, Workload Identity, NetworkPolicy enforcement and no legacy ABAC.',
  enforcementLevel: 'mandatory',
  validateResource: forType(T.cluster, (props, report) => {
    const enc = props.databaseEncryption;
    if (enc?.state !== 'ENCRYPTED' || !enc.keyName) report('Kubernetes Secrets are not encrypted with a customer Cloud KMS key (databaseEncryption)');
    if (props.privateClusterConfig?.enablePrivateNodes !== true) report('nodes have public IP addresses (enablePrivateNodes is off)');
    if (!props.workloadIdentityConfig?.workloadPool) report('Workload Identity is off: pods would use the node service account');
    if (props.datapathProvider !== 'ADVANCED_DATAPATH' && props.networkPolicy?.enabled !== true) report('NetworkPolicy is not enforced: the sandbox default-deny policies would do nothing');
    if (props.enableLegacyAbac === true) report('legacy ABAC is on');
  }),
};

const gkeEndpointOpen: ResourceValidationPolicy = {
  name: 'gcp-gke-endpoint-restricted',
  description: 'The GKE control plane is private, or public only to named CIDRs.',
  enforcementLevel: 'advisory',
  validateResource: forType(T.cluster, (props, report) => {
    const cidrs = (props.masterAuthorizedNetworksConfig?.cidrBlocks ?? []) as { cidrBlock?: string }[];
    if (props.privateClusterConfig?.enablePrivateEndpoint !== true && (!props.masterAuthorizedNetworksConfig || cidrs.some((c) => c.cidrBlock === '0.0.0.0/0'))) {
      report('the Kubernetes API endpoint is reachable from any address (set master authorized networks)');
    }
  }),
};

// ------------------------------------------------------------------ public access

const gcsPublicAccess: ResourceValidationPolicy = {
  name: 'gcp-gcs-public-access-prevented',
  description: 'Buckets enforce public access prevention and uniform bucket-level access (no object ACLs).',
  enforcementLevel: 'mandatory',
  validateResource: forType(T.bucket, (props, report) => {
    if (props.publicAccessPrevention !== 'enforced') report(`bucket ${props.name ?? '?'} does not enforce public access prevention ('${props.publicAccessPrevention ?? 'inherited'}')`);
    if (props.uniformBucketLevelAccess !== true) report(`bucket ${props.name ?? '?'} allows object ACLs (uniform bucket-level access is off)`);
  }),
};

const noPublicBindings: ResourceValidationPolicy = {
  name: 'gcp-no-public-iam',
  description: 'No IAM binding on a bucket, key, key ring, dataset or the project grants allUsers or allAuthenticatedUsers.',
  enforcementLevel: 'mandatory',
  validateResource: forType(
    [T.bucketMember, T.bucketBinding, T.bucketPolicy, T.bucketAcl, T.keyMember, T.keyBinding, T.keyPolicy, T.ringMember, T.ringBinding, T.datasetMember, T.datasetBinding, T.datasetPolicy, T.datasetAccess, T.dataset, T.projectMember, T.projectBinding],
    (props, report, args) => {
      const what = args.type.split(':').pop();
      for (const member of membersOf(props).filter(isPublic)) report(`${what} grants ${props.role ?? 'access'} to ${member}`);
      if (args.type === T.bucketAcl) {
        const acls = [...(props.roleEntities ?? []), props.predefinedAcl].map(String);
        if (acls.some((a) => /allUsers|allAuthenticatedUsers|publicRead|authenticatedRead/.test(a))) report('the bucket ACL makes it public');
      }
    },
  ),
};

const tlsOnlyEdge: ResourceValidationPolicy = {
  name: 'gcp-lb-tls-only',
  description: 'SSL policies require TLS 1.2 or later; GKE Ingresses serve no plain HTTP.',
  enforcementLevel: 'mandatory',
  validateResource: (args, report) => {
    const p = args.props ?? {};
    if (args.type === T.sslPolicy && p.minTlsVersion !== 'TLS_1_2' && p.minTlsVersion !== 'TLS_1_3') report(`SSL policy allows ${p.minTlsVersion ?? 'TLS_1_0'}`);
    if (args.type === 'kubernetes:networking.k8s.io/v1:Ingress' && p.metadata?.annotations?.['kubernetes.io/ingress.class'] === 'gce') {
      if (String(p.metadata.annotations['kubernetes.io/ingress.allow-http']) !== 'false') report('the GCLB Ingress serves plain HTTP (kubernetes.io/ingress.allow-http is not false)');
    }
  },
};

// ------------------------------------------------------------------ sandbox pool

const sandboxPoolGvisor: ResourceValidationPolicy = {
  name: 'gcp-sandbox-pool-gvisor-tainted',
  description: `The sandbox node pool runs GKE Sandbox (gVisor) and carries the taint ${SANDBOX_TAINT.key}=${SANDBOX_TAINT.value}:${SANDBOX_TAINT.effect}.`,
  enforcementLevel: 'mandatory',
  validateResource: forType(T.nodePool, (props, report) => {
    const node = props.nodeConfig ?? {};
    if (node.labels?.[POOL_LABEL] !== POOLS.sandbox) return;
    if (node.sandboxConfig?.type !== 'GVISOR' && node.sandboxConfig?.sandboxType !== 'gvisor') report('the sandbox pool does not run GKE Sandbox (sandboxConfig type GVISOR)');
    const tainted = (node.taints ?? []).some((t: { key?: string; value?: string; effect?: string }) => t.key === SANDBOX_TAINT.key && t.value === SANDBOX_TAINT.value && t.effect === 'NO_SCHEDULE');
    if (!tainted) report(`the sandbox pool is not tainted ${SANDBOX_TAINT.key}=${SANDBOX_TAINT.value}:NoSchedule: ordinary pods could land next to untrusted code`);
    if (node.workloadMetadataConfig?.mode !== 'GKE_METADATA') report('sandbox nodes expose the node metadata server (workloadMetadataConfig mode is not GKE_METADATA)');
  }),
};

// ------------------------------------------------------------------ cross-resource (stack) rules

interface Index {
  byType: (...types: string[]) => PolicyResource[];
  /** `serviceAccount:<email>` -> tenant, for tenant identities. */
  memberTenant: Map<string, string>;
  /** Tenant ingest (gateway) identities, as members. */
  ingestMembers: Set<string>;
  /** Tenant trace readers (the gateway's runs pages), as members. */
  readerMembers: Set<string>;
  /** Key resource name -> tenant, for tenant keys of ours (label). */
  keyTenant: Map<string, string>;
  /** Keys each tenant may use: its own, or (BYOK) the keys its data identity is bound on. */
  tenantKeys: Map<string, Set<string>>;
  bucketTenant: Map<string, string>;
  datasetTenant: Map<string, string>;
}

function index(resources: PolicyResource[]): Index {
  const byType = (...types: string[]) => resources.filter((r) => types.includes(r.type));
  const memberTenant = new Map<string, string>();
  const ingestMembers = new Set<string>();
  const readerMembers = new Set<string>();
  for (const a of byType(T.account)) {
    const tenant = TENANT_DESCRIPTION.exec(String(a.props.description ?? ''))?.[1];
    if (!tenant || !a.props.email) continue;
    const member = `serviceAccount:${a.props.email}`;
    memberTenant.set(member, tenant);
    if (/-i$/.test(String(a.props.accountId ?? ''))) ingestMembers.add(member);
    if (/-r$/.test(String(a.props.accountId ?? ''))) readerMembers.add(member);
  }
  const keyTenant = new Map<string, string>();
  const tenantKeys = new Map<string, Set<string>>();
  const add = (tenant: string, key: string) => tenantKeys.set(tenant, (tenantKeys.get(tenant) ?? new Set()).add(key));
  for (const k of byType(T.cryptoKey)) {
    const tenant = labelTenant(k.props);
    if (tenant && k.props.id) {
      keyTenant.set(k.props.id, tenant);
      add(tenant, k.props.id);
    }
  }
  for (const b of byType(T.keyMember, T.keyBinding)) {
    for (const member of membersOf(b.props)) {
      const tenant = memberTenant.get(member);
      if (tenant && b.props.cryptoKeyId && !keyTenant.has(b.props.cryptoKeyId)) add(tenant, b.props.cryptoKeyId);
    }
  }
  const bucketTenant = new Map<string, string>();
  for (const b of byType(T.bucket)) {
    const tenant = labelTenant(b.props);
    if (tenant && b.props.name) bucketTenant.set(b.props.name, tenant);
  }
  const datasetTenant = new Map<string, string>();
  for (const d of byType(T.dataset)) {
    const tenant = labelTenant(d.props);
    if (tenant && d.props.datasetId) datasetTenant.set(d.props.datasetId, tenant);
  }
  return { byType, memberTenant, ingestMembers, readerMembers, keyTenant, tenantKeys, bucketTenant, datasetTenant };
}

const tenantIsolation: StackValidationPolicy = {
  name: 'gcp-tenant-key-isolation',
  description: "Each tenant's bucket, dataset and tables use that tenant's key and no other; no binding on a tenant's key, bucket or dataset names another tenant's identity; no key is bound to two tenants' identities.",
  enforcementLevel: 'mandatory',
  validateStack: (args, report) => {
    const ix = index(args.resources);
    const checkKey = (what: string, tenant: string, key: unknown, urn: string) => {
      if (key === undefined) return; // unknown during a preview; gcp-gcs-cmek / gcp-bigquery-cmek report a missing key
      if (!(ix.tenantKeys.get(tenant) ?? new Set()).has(String(key))) {
        const owner = ix.keyTenant.get(String(key));
        report(`${what} of tenant '${tenant}' uses ${owner ? `tenant '${owner}''s key` : `key ${String(key)}, which is not tenant '${tenant}''s`}`, urn);
      }
    };
    for (const b of ix.byType(T.bucket)) {
      const tenant = labelTenant(b.props);
      if (tenant) checkKey(`bucket ${b.props.name}`, tenant, b.props.encryption?.defaultKmsKeyName, b.urn);
    }
    for (const d of ix.byType(T.dataset)) {
      const tenant = labelTenant(d.props);
      if (tenant) checkKey(`dataset ${d.props.datasetId}`, tenant, d.props.defaultEncryptionConfiguration?.kmsKeyName, d.urn);
    }
    for (const t of ix.byType(T.table)) {
      const tenant = labelTenant(t.props) ?? ix.datasetTenant.get(t.props.datasetId);
      if (tenant) checkKey(`table ${t.props.datasetId}.${t.props.tableId}`, tenant, t.props.encryptionConfiguration?.kmsKeyName, t.urn);
    }
    // Bindings: on a tenant's key, bucket or dataset, only that tenant's identities (and Google's service agents).
    const keyBound = new Map<string, Set<string>>();
    for (const b of ix.byType(T.keyMember, T.keyBinding)) {
      const owner = ix.keyTenant.get(b.props.cryptoKeyId);
      for (const member of membersOf(b.props)) {
        const grantee = ix.memberTenant.get(member);
        if (!grantee) continue;
        keyBound.set(b.props.cryptoKeyId, (keyBound.get(b.props.cryptoKeyId) ?? new Set()).add(grantee));
        if (owner && grantee !== owner) report(`binding on tenant '${owner}''s key grants ${b.props.role} to tenant '${grantee}''s identity ${member}`, b.urn);
      }
    }
    for (const [key, grantees] of keyBound) {
      if (grantees.size > 1 && !ix.keyTenant.has(key)) {
        const urn = ix.byType(T.keyMember, T.keyBinding).find((b) => b.props.cryptoKeyId === key)!.urn;
        report(`key ${key} is bound to the identities of tenants ${[...grantees].sort().join(', ')}: tenants share no key`, urn);
      }
    }
    const resourceOwner = (r: PolicyResource) =>
      r.type === T.bucketMember || r.type === T.bucketBinding ? ix.bucketTenant.get(r.props.bucket) : ix.datasetTenant.get(r.props.datasetId);
    for (const b of ix.byType(T.bucketMember, T.bucketBinding, T.datasetMember, T.datasetBinding)) {
      const owner = resourceOwner(b);
      if (!owner) continue;
      for (const member of membersOf(b.props)) {
        const grantee = ix.memberTenant.get(member);
        if (grantee && grantee !== owner) report(`binding on tenant '${owner}''s ${b.type.includes('storage') ? 'bucket' : 'dataset'} grants ${b.props.role} to tenant '${grantee}''s identity ${member}`, b.urn);
      }
    }
  },
};

/** The only key role a gateway (ingest) identity may hold. */
const INGEST_KEY_ROLE = 'roles/cloudkms.cryptoKeyEncrypter';

const gatewayEncryptOnly: StackValidationPolicy = {
  name: 'gcp-gateway-encrypt-only',
  description: "A tenant's ingest identity (the gateway's) may only encrypt with the tenant key and holds no role on buckets or datasets: the gateway cannot read tenant data.",
  enforcementLevel: 'mandatory',
  validateStack: (args, report) => {
    const ix = index(args.resources);
    for (const b of ix.byType(T.keyMember, T.keyBinding)) {
      if (b.props.role !== INGEST_KEY_ROLE && membersOf(b.props).some((m) => ix.ingestMembers.has(m))) report(`the gateway's tenant identity holds ${b.props.role} on a key (only ${INGEST_KEY_ROLE})`, b.urn);
    }
    for (const b of ix.byType(T.bucketMember, T.bucketBinding, T.datasetMember, T.datasetBinding)) {
      if (membersOf(b.props).some((m) => ix.ingestMembers.has(m))) report(`the gateway's tenant identity holds ${b.props.role} on tenant data`, b.urn);
    }
  },
};

/** All a trace reader may hold: view its dataset, decrypt with its key (sealed trace content). */
const READER_ROLES: Record<string, string> = { dataset: 'roles/bigquery.dataViewer', key: 'roles/cloudkms.cryptoKeyDecrypter' };

const traceReaderReadOnly: StackValidationPolicy = {
  name: 'gcp-trace-reader-read-only',
  description: "A tenant's trace reader (the gateway's runs pages) only views datasets and decrypts with keys (its own: gcp-tenant-isolation), holds nothing on buckets, and writes nothing.",
  enforcementLevel: 'mandatory',
  validateStack: (args, report) => {
    const ix = index(args.resources);
    const held = (members: string[]) => members.some((m) => ix.readerMembers.has(m));
    for (const b of ix.byType(T.keyMember, T.keyBinding)) {
      if (b.props.role !== READER_ROLES.key && held(membersOf(b.props))) report(`a trace reader holds ${b.props.role} on a key (only ${READER_ROLES.key})`, b.urn);
    }
    for (const b of ix.byType(T.datasetMember, T.datasetBinding)) {
      if (b.props.role !== READER_ROLES.dataset && held(membersOf(b.props))) report(`a trace reader holds ${b.props.role} on a dataset (only ${READER_ROLES.dataset})`, b.urn);
    }
    for (const b of ix.byType(T.bucketMember, T.bucketBinding)) {
      if (held(membersOf(b.props))) report(`a trace reader holds ${b.props.role} on a bucket`, b.urn);
    }
  },
};

export const gcpRules: GuardrailPolicy[] = [
  gcsCmek,
  gcsPublicAccess,
  noPublicBindings,
  kmsRotation,
  bigqueryCmek,
  sqlEncryptedPrivate,
  gkeHardened,
  gkeEndpointOpen,
  tlsOnlyEdge,
  sandboxPoolGvisor,
  tenantIsolation,
  gatewayEncryptOnly,
  traceReaderReadOnly,
];
