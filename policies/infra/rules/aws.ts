/**
 * Guardrails for the AWS resources of an install (DESIGN.md invariants 1 and 4):
 * everything that stores tenant or platform data is encrypted with a customer-managed KMS
 * key; nothing is public; keys rotate; key policies name principals and actions exactly;
 * each tenant's storage, lake and queries use that tenant's key and no other; runtime
 * roles are least-privilege (the gateway reads tenant data only by assuming a tenant's
 * trace reader, which only it may assume and which writes nothing but Athena results).
 */
import type { PolicyResource, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from '@pulumi/policy';
import { bucketOfLocation, isWildcardAction, list, principals, statements, tenantOf, type GuardrailPolicy } from './common.js';
import { kmsContextConditionKey } from '../../../contracts/encryption.js';

const T = {
  bucket: 'aws:s3/bucket:Bucket',
  sse: 'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration',
  publicAccess: 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock',
  bucketPolicy: 'aws:s3/bucketPolicy:BucketPolicy',
  bucketAcl: 'aws:s3/bucketAcl:BucketAcl',
  key: 'aws:kms/key:Key',
  grant: 'aws:kms/grant:Grant',
  glueTable: 'aws:glue/catalogTable:CatalogTable',
  glueDb: 'aws:glue/catalogDatabase:CatalogDatabase',
  workgroup: 'aws:athena/workgroup:Workgroup',
  rds: 'aws:rds/instance:Instance',
  rdsCluster: 'aws:rds/cluster:Cluster',
  eks: 'aws:eks/cluster:Cluster',
  eksAddon: 'aws:eks/addon:Addon',
  nodeGroup: 'aws:eks/nodeGroup:NodeGroup',
  launchTemplate: 'aws:ec2/launchTemplate:LaunchTemplate',
  role: 'aws:iam/role:Role',
  rolePolicy: 'aws:iam/rolePolicy:RolePolicy',
  policy: 'aws:iam/policy:Policy',
  attachment: 'aws:iam/rolePolicyAttachment:RolePolicyAttachment',
  listener: 'aws:lb/listener:Listener',
  loadBalancer: 'aws:lb/loadBalancer:LoadBalancer',
} as const;

/** A rule over one resource type. */
function forType(type: string, check: (props: Record<string, any>, report: ReportViolation, args: ResourceValidationArgs) => void) {
  return (args: ResourceValidationArgs, report: ReportViolation) => {
    if (args.type === type) check(args.props ?? {}, report, args);
  };
}

// ------------------------------------------------------------------ encryption

const s3Encryption: ResourceValidationPolicy = {
  name: 'aws-s3-sse-kms-customer-key',
  description: 'Bucket default encryption is SSE-KMS with a customer-managed key (not SSE-S3, not the aws/s3 key) and S3 bucket keys.',
  enforcementLevel: 'mandatory',
  validateResource: forType(T.sse, (props, report) => {
    const all = (props.rules ?? []) as Array<{ applyServerSideEncryptionByDefault?: { sseAlgorithm?: string; kmsMasterKeyId?: string }; bucketKeyEnabled?: boolean }>;
    if (all.length === 0) return report('no default encryption rule');
    for (const rule of all) {
      const d = rule.applyServerSideEncryptionByDefault;
      if (d?.sseAlgorithm !== 'aws:kms' && d?.sseAlgorithm !== 'aws:kms:dsse') report(`default encryption is '${d?.sseAlgorithm ?? 'none'}', not SSE-KMS`);
      else if (!d.kmsMasterKeyId || /alias\/aws\/s3$/.test(d.kmsMasterKeyId)) report('SSE-KMS without a customer-managed key (the AWS-managed aws/s3 key cannot be scoped or shredded per tenant)');
      if (rule.bucketKeyEnabled !== true) report('S3 bucket keys are off (every object would call KMS)');
    }
  }),
};

const kmsRotation: ResourceValidationPolicy = {
  name: 'aws-kms-rotation',
  description: 'Symmetric KMS keys rotate automatically.',
  enforcementLevel: 'mandatory',
  validateResource: forType(T.key, (props, report) => {
    const spec = props.customerMasterKeySpec ?? props.keySpec ?? 'SYMMETRIC_DEFAULT';
    if (spec === 'SYMMETRIC_DEFAULT' && props.enableKeyRotation !== true) report('key rotation is off');
  }),
};

const kmsPolicyExact: ResourceValidationPolicy = {
  name: 'aws-kms-policy-no-wildcards',
  description: "Key policies allow no '*' principal and no '*' or 'kms:*' action.",
  enforcementLevel: 'mandatory',
  validateResource: forType(T.key, (props, report) => {
    const stmts = statements(props.policy);
    if (stmts === undefined) {
      if (props.policy === undefined) report('no key policy: the default policy gives the whole account kms:*');
      return;
    }
    for (const s of stmts) {
      if (s.Effect !== 'Allow') continue;
      const who = principals(s);
      if (who.includes('*')) report(`statement '${s.Sid ?? '?'}' allows any principal ('*')`);
      if (s.NotPrincipal !== undefined) report(`statement '${s.Sid ?? '?'}' uses NotPrincipal`);
      const wild = list(s.Action).filter(isWildcardAction);
      if (wild.length) report(`statement '${s.Sid ?? '?'}' allows ${wild.join(', ')}`);
      if (s.NotAction !== undefined) report(`statement '${s.Sid ?? '?'}' uses NotAction`);
    }
  }),
};

const isCustomerKms = (rule: { applyServerSideEncryptionByDefault?: { sseAlgorithm?: string; kmsMasterKeyId?: string } }) => {
  const d = rule.applyServerSideEncryptionByDefault;
  return (d?.sseAlgorithm === 'aws:kms' || d?.sseAlgorithm === 'aws:kms:dsse') && Boolean(d.kmsMasterKeyId) && !/alias\/aws\/s3$/.test(String(d.kmsMasterKeyId));
};

/**
 * Two kinds of lake table keep their files encrypted, each checked by what it is, not by
 * its name:
 * - Iceberg tables (`traces`) write every data and metadata file themselves: they must say
 *   `s3.sse.type=kms` with a key (`s3.sse.key`).
 * - External Parquet tables (`traces_staging`) write nothing: they read objects under their
 *   location. They are encrypted when that location is inside their database's location
 *   (the tenant's lake root in its bucket or BYOB prefix) and, in a bucket of this stack,
 *   that bucket's default encryption is SSE-KMS under a customer key (which key — the
 *   tenant's — is aws-tenant-key-isolation's check; the bucket policy also refuses uploads
 *   under any other key). A BYOB bucket is the customer's: its guards are the bucket policy
 *   `claw plan` prints, the same as for the tenant's other objects there.
 */
const glueTableEncrypted: StackValidationPolicy = {
  name: 'aws-glue-table-encrypted',
  description: "Lake tables keep their files under SSE-KMS with a customer key: Iceberg tables write with s3.sse.type=kms and a key; external Parquet tables read only under their database's location, in a bucket whose default encryption is SSE-KMS under a customer key.",
  enforcementLevel: 'mandatory',
  validateStack: (args, report) => {
    const ix = index(args.resources);
    const dbLocation = new Map(ix.byType(T.glueDb).map((d) => [d.props.name, d.props.locationUri as string | undefined] as const));
    const ours = new Set(ix.byType(T.bucket).map((b) => b.props.bucket).filter(Boolean));
    const sse = new Map<string, Array<Record<string, any>>>();
    for (const c of ix.byType(T.sse)) sse.set(c.props.bucket, [...(sse.get(c.props.bucket) ?? []), ...(c.props.rules ?? [])]);

    for (const table of ix.byType(T.glueTable)) {
      const p = table.props;
      const iceberg = p.openTableFormatInput?.icebergInput?.icebergTableInput;
      if (iceberg || p.parameters?.table_type?.toUpperCase?.() === 'ICEBERG') {
        const properties = iceberg?.properties ?? p.parameters ?? {};
        if (properties['s3.sse.type'] !== 'kms') report(`table '${p.name}' does not write with SSE-KMS (s3.sse.type is '${properties['s3.sse.type'] ?? 'unset'}')`, table.urn);
        else if (!properties['s3.sse.key']) report(`table '${p.name}' names no KMS key (s3.sse.key)`, table.urn);
        continue;
      }
      const sd = p.storageDescriptor;
      const parquet = /parquet/i.test(String(sd?.serDeInfo?.serializationLibrary ?? '')) && /parquet/i.test(String(sd?.inputFormat ?? ''));
      if (p.tableType !== 'EXTERNAL_TABLE' || !sd || !parquet) {
        report(`table '${p.name}' is neither an Iceberg table writing with SSE-KMS nor an external Parquet table over an encrypted lake location`, table.urn);
        continue;
      }
      const location = sd.location as string | undefined;
      if (location === undefined) continue; // unknown during a preview
      const root = dbLocation.get(p.databaseName);
      if (!root || !location.startsWith(root.endsWith('/') ? root : `${root}/`)) {
        report(`external table '${p.name}' reads ${location}, outside its database's lake location ${root ?? '(none)'}`, table.urn);
        continue;
      }
      const bucket = bucketOfLocation(location);
      if (!bucket || !ours.has(bucket)) continue; // BYOB: see above
      const rules = sse.get(bucket) ?? [];
      if (rules.length === 0 || !rules.every(isCustomerKms)) report(`external table '${p.name}' reads bucket ${bucket}, whose default encryption is not SSE-KMS under a customer key`, table.urn);
    }
  },
};

const athenaEncrypted: ResourceValidationPolicy = {
  name: 'aws-athena-workgroup-encrypted',
  description: 'Athena workgroups enforce their configuration and encrypt results with SSE_KMS or CSE_KMS under a customer key.',
  enforcementLevel: 'mandatory',
  validateResource: forType(T.workgroup, (props, report) => {
    const c = props.configuration ?? {};
    if (c.enforceWorkgroupConfiguration !== true) report('clients may override the workgroup configuration (enforceWorkgroupConfiguration is off)');
    const enc = c.resultConfiguration?.encryptionConfiguration;
    if (enc?.encryptionOption !== 'SSE_KMS' && enc?.encryptionOption !== 'CSE_KMS') report(`query results are encrypted with '${enc?.encryptionOption ?? 'nothing'}', not SSE_KMS/CSE_KMS`);
    else if (!enc.kmsKeyArn) report('query-result encryption names no KMS key');
    if (!c.resultConfiguration?.outputLocation) report('no result location: results would go wherever the client says');
  }),
};

const rdsEncryptedPrivate: ResourceValidationPolicy = {
  name: 'aws-rds-encrypted-private',
  description: 'Databases are encrypted with a customer key, not publicly accessible, backed up (>= 7 days) and deletion-protected.',
  enforcementLevel: 'mandatory',
  validateResource: (args, report) => {
    if (args.type !== T.rds && args.type !== T.rdsCluster) return;
    const p = args.props ?? {};
    if (p.storageEncrypted !== true) report('storage is not encrypted');
    else if (!p.kmsKeyId) report('storage is encrypted with the AWS-managed key, not a customer key');
    if (p.publiclyAccessible === true) report('the database is publicly accessible');
    if (!(Number(p.backupRetentionPeriod) >= 7)) report(`backups are kept ${p.backupRetentionPeriod ?? 0} days (< 7)`);
    if (p.deletionProtection !== true) report('deletion protection is off');
  },
};

const eksSecretsEncrypted: ResourceValidationPolicy = {
  name: 'aws-eks-secrets-encrypted',
  description: 'EKS envelope-encrypts Kubernetes Secrets with a customer key.',
  enforcementLevel: 'mandatory',
  validateResource: forType(T.eks, (props, report) => {
    const enc = props.encryptionConfig;
    if (!enc?.provider?.keyArn || !list(enc.resources).includes('secrets')) report('Kubernetes Secrets are not envelope-encrypted with a customer KMS key');
  }),
};

const eksEndpointOpen: ResourceValidationPolicy = {
  name: 'aws-eks-endpoint-restricted',
  description: 'The EKS API endpoint is private, or public only to named CIDRs.',
  enforcementLevel: 'advisory',
  validateResource: forType(T.eks, (props, report) => {
    const v = props.vpcConfig ?? {};
    if (v.endpointPublicAccess !== false && list(v.publicAccessCidrs ?? ['0.0.0.0/0']).includes('0.0.0.0/0')) {
      report('the Kubernetes API endpoint is reachable from any address (restrict publicAccessCidrs to the installer/VPN)');
    }
  }),
};

const eksEnforcesNetworkPolicy: StackValidationPolicy = {
  name: 'aws-eks-network-policy-enforced',
  description: "Every EKS cluster runs the VPC CNI add-on with enableNetworkPolicy: otherwise the sandbox's NetworkPolicies are accepted and not enforced.",
  enforcementLevel: 'mandatory',
  validateStack: (args, report) => {
    const ix = index(args.resources);
    const addons = ix.byType(T.eksAddon).filter((a) => a.props.addonName === 'vpc-cni');
    for (const eks of ix.byType(T.eks)) {
      const enforced = addons.some((a) => {
        if (a.props.clusterName !== eks.props.name) return false;
        try {
          return String(JSON.parse(a.props.configurationValues ?? '{}').enableNetworkPolicy) === 'true';
        } catch {
          return false;
        }
      });
      if (!enforced) report(`cluster ${eks.props.name ?? eks.name} has no vpc-cni add-on with enableNetworkPolicy: NetworkPolicies would not be enforced`, eks.urn);
    }
  },
};

const ebsEncrypted: ResourceValidationPolicy = {
  name: 'aws-node-volumes-encrypted',
  description: 'Node launch templates encrypt their volumes with a customer key and require IMDSv2 with one hop.',
  enforcementLevel: 'mandatory',
  validateResource: forType(T.launchTemplate, (props, report) => {
    for (const m of props.blockDeviceMappings ?? []) {
      if (String(m.ebs?.encrypted) !== 'true' || !m.ebs?.kmsKeyId) report(`volume ${m.deviceName ?? '?'} is not encrypted with a customer key`);
    }
    const md = props.metadataOptions ?? {};
    if (md.httpTokens !== 'required') report('IMDSv1 is allowed (httpTokens is not required)');
    if (!(Number(md.httpPutResponseHopLimit) === 1)) report('IMDS hop limit is not 1: containers could reach the node role');
  }),
};

// ------------------------------------------------------------------ public access

const bucketPublicAccessBlock: ResourceValidationPolicy = {
  name: 'aws-s3-public-access-blocked',
  description: 'Public access blocks have all four settings on.',
  enforcementLevel: 'mandatory',
  validateResource: forType(T.publicAccess, (props, report) => {
    const off = ['blockPublicAcls', 'blockPublicPolicy', 'ignorePublicAcls', 'restrictPublicBuckets'].filter((k) => props[k] !== true);
    if (off.length) report(`public access is not blocked: ${off.join(', ')} off`);
  }),
};

const bucketNoPublicGrants: ResourceValidationPolicy = {
  name: 'aws-s3-no-public-grants',
  description: "No bucket ACL or policy grants access to everyone (Deny statements with '*' are fine).",
  enforcementLevel: 'mandatory',
  validateResource: (args, report) => {
    const p = args.props ?? {};
    if (args.type === T.bucketAcl || args.type === T.bucket) {
      const acl = p.acl ?? p.aclPolicy;
      if (typeof acl === 'string' && /public|authenticated-read/.test(acl)) report(`canned ACL '${acl}' makes the bucket public`);
    }
    if (args.type === T.bucketPolicy) {
      for (const s of statements(p.policy) ?? []) {
        if (s.Effect === 'Allow' && principals(s).includes('*')) report(`bucket policy statement '${s.Sid ?? '?'}' allows any principal`);
      }
    }
  },
};

const tlsOnlyEdge: ResourceValidationPolicy = {
  name: 'aws-alb-tls-only',
  description: 'Load balancer listeners serve HTTPS with a TLS 1.2+ policy, or only redirect HTTP to HTTPS.',
  enforcementLevel: 'mandatory',
  validateResource: forType(T.listener, (props, report) => {
    if (props.protocol === 'HTTPS' || props.protocol === 'TLS') {
      if (!/TLS13|TLS-1-2|TLS12/.test(String(props.sslPolicy ?? ''))) report(`TLS policy '${props.sslPolicy ?? 'default'}' allows TLS < 1.2`);
      return;
    }
    const actions = (props.defaultActions ?? []) as Array<{ type?: string; redirect?: { protocol?: string } }>;
    if (!actions.every((a) => a.type === 'redirect' && a.redirect?.protocol === 'HTTPS')) report(`${props.protocol ?? 'plain'} listener on port ${props.port} serves traffic instead of redirecting to HTTPS`);
  }),
};

// ------------------------------------------------------------------ IAM

const iamNoWildcards: ResourceValidationPolicy = {
  name: 'aws-iam-least-privilege',
  description: "Role policies allow no '*' or '<service>:*' action and no '*' resource; no administrator or *FullAccess managed policies.",
  enforcementLevel: 'mandatory',
  validateResource: (args, report) => {
    const p = args.props ?? {};
    if (args.type === T.rolePolicy || args.type === T.policy) {
      for (const s of statements(p.policy) ?? []) {
        if (s.Effect !== 'Allow') continue;
        const wild = list(s.Action).filter(isWildcardAction);
        if (wild.length) report(`statement '${s.Sid ?? '?'}' allows ${wild.join(', ')}`);
        if (s.NotAction !== undefined) report(`statement '${s.Sid ?? '?'}' uses NotAction`);
        if (list(s.Resource).includes('*')) report(`statement '${s.Sid ?? '?'}' applies to every resource ('*')`);
      }
    }
    if (args.type === T.attachment && /AdministratorAccess|PowerUserAccess|FullAccess|IAMFullAccess/.test(String(p.policyArn ?? ''))) {
      report(`managed policy ${p.policyArn} is far broader than any runtime component needs`);
    }
    if (args.type === T.role) {
      for (const s of statements(p.assumeRolePolicy) ?? []) {
        if (s.Effect === 'Allow' && principals(s).includes('*')) report(`trust policy statement '${s.Sid ?? '?'}' lets anyone assume the role`);
      }
    }
  },
};

// ------------------------------------------------------------------ sandbox pool

const sandboxPoolTainted: ResourceValidationPolicy = {
  name: 'aws-sandbox-pool-tainted',
  description: "The sandbox node group carries the taint claw.dev/sandbox=gvisor:NoSchedule; other node groups do not claim the 'sandbox' pool label.",
  enforcementLevel: 'mandatory',
  validateResource: forType(T.nodeGroup, (props, report) => {
    const sandbox = props.labels?.['claw.dev/pool'] === 'sandbox';
    const tainted = (props.taints ?? []).some((t: { key?: string; value?: string; effect?: string }) => t.key === 'claw.dev/sandbox' && t.value === 'gvisor' && t.effect === 'NO_SCHEDULE');
    if (sandbox && !tainted) report('the sandbox node group is not tainted claw.dev/sandbox=gvisor:NoSchedule: ordinary pods could land next to untrusted code');
  }),
};

// ------------------------------------------------------------------ cross-resource (stack) rules

interface Index {
  byType: (type: string) => PolicyResource[];
  /** Key ARNs each tenant may use: its own managed key, or the BYOK key its role was granted. */
  tenantKeys: Map<string, Set<string>>;
  /** Role ARN -> tenant, for tenant roles. */
  roleTenant: Map<string, string>;
  /** Bucket name -> tenant, for tenant buckets of ours. */
  bucketTenant: Map<string, string>;
  /** Key ARN -> tenant, for tenant keys of ours. */
  keyTenant: Map<string, string>;
}

function index(resources: PolicyResource[]): Index {
  const byType = (type: string) => resources.filter((r) => r.type === type);
  const tenantKeys = new Map<string, Set<string>>();
  const add = (tenant: string, arn: string) => tenantKeys.set(tenant, (tenantKeys.get(tenant) ?? new Set()).add(arn));
  const roleTenant = new Map<string, string>();
  const bucketTenant = new Map<string, string>();
  const keyTenant = new Map<string, string>();
  for (const r of byType(T.role)) {
    const tenant = tenantOf(r.props);
    if (tenant && r.props.arn) roleTenant.set(r.props.arn, tenant);
  }
  for (const k of byType(T.key)) {
    const tenant = tenantOf(k.props);
    if (tenant && k.props.arn) {
      add(tenant, k.props.arn);
      keyTenant.set(k.props.arn, tenant);
    }
  }
  for (const g of byType(T.grant)) {
    const tenant = roleTenant.get(g.props.granteePrincipal);
    if (tenant && g.props.keyId) add(tenant, g.props.keyId);
  }
  for (const b of byType(T.bucket)) {
    const tenant = tenantOf(b.props);
    if (tenant && b.props.bucket) bucketTenant.set(b.props.bucket, tenant);
  }
  return { byType, tenantKeys, roleTenant, bucketTenant, keyTenant };
}

const tenantIsolation: StackValidationPolicy = {
  name: 'aws-tenant-key-isolation',
  description: "Each tenant's bucket, lake table and Athena workgroup use that tenant's key and no other; no tenant key policy names another tenant's role; no tenant role reaches another tenant's key or bucket.",
  enforcementLevel: 'mandatory',
  validateStack: (args, report) => {
    const ix = index(args.resources);
    const allowed = (tenant: string) => ix.tenantKeys.get(tenant) ?? new Set<string>();
    const checkKey = (what: string, tenant: string, keyArn: unknown, urn: string) => {
      if (keyArn === undefined) return; // unknown during a preview
      if (!allowed(tenant).has(String(keyArn))) {
        const owner = ix.keyTenant.get(String(keyArn));
        report(`${what} of tenant '${tenant}' uses ${owner ? `tenant '${owner}''s key` : `key ${String(keyArn)}, which is not tenant '${tenant}''s`}`, urn);
      }
    };
    const checkBucket = (what: string, tenant: string, bucket: string | undefined, urn: string) => {
      const owner = bucket ? ix.bucketTenant.get(bucket) : undefined;
      if (owner && owner !== tenant) report(`${what} of tenant '${tenant}' writes to tenant '${owner}''s bucket ${bucket}`, urn);
    };

    for (const sse of ix.byType(T.sse)) {
      const tenant = ix.bucketTenant.get(sse.props.bucket);
      if (!tenant) continue;
      for (const rule of sse.props.rules ?? []) checkKey('bucket encryption', tenant, rule.applyServerSideEncryptionByDefault?.kmsMasterKeyId, sse.urn);
    }
    // Every tenant bucket of ours has a default encryption configuration at all.
    const encrypted = new Set(ix.byType(T.sse).map((s) => s.props.bucket));
    for (const b of ix.byType(T.bucket)) {
      if (b.props.bucket && !encrypted.has(b.props.bucket)) report(`bucket ${b.props.bucket} has no default encryption configuration`, b.urn);
    }
    const dbTenant = new Map(ix.byType(T.glueDb).map((d) => [d.props.name, tenantOf(d.props)] as const));
    for (const table of ix.byType(T.glueTable)) {
      const tenant = dbTenant.get(table.props.databaseName);
      if (!tenant) continue;
      const iceberg = table.props.openTableFormatInput?.icebergInput?.icebergTableInput;
      if (iceberg) {
        checkKey('lake table', tenant, iceberg.properties?.['s3.sse.key'] ?? 'none', table.urn);
        checkBucket('lake table', tenant, bucketOfLocation(iceberg.location), table.urn);
      } else {
        // An external table writes nothing: its objects carry the bucket's key (checked above
        // for the tenant's bucket) or the runtime's SSE-KMS headers under the tenant key.
        checkBucket('lake table', tenant, bucketOfLocation(table.props.storageDescriptor?.location), table.urn);
      }
    }
    for (const wg of ix.byType(T.workgroup)) {
      const tenant = tenantOf(wg.props);
      if (!tenant) continue;
      const rc = wg.props.configuration?.resultConfiguration;
      checkKey('Athena workgroup', tenant, rc?.encryptionConfiguration?.kmsKeyArn ?? 'none', wg.urn);
      checkBucket('Athena workgroup', tenant, bucketOfLocation(rc?.outputLocation), wg.urn);
    }
    for (const key of ix.byType(T.key)) {
      const tenant = tenantOf(key.props);
      if (!tenant) continue;
      for (const s of statements(key.props.policy) ?? []) {
        if (s.Effect !== 'Allow') continue;
        for (const principal of principals(s)) {
          const other = ix.roleTenant.get(principal);
          if (other && other !== tenant) report(`key policy of tenant '${tenant}' (statement '${s.Sid ?? '?'}') grants tenant '${other}''s role ${principal}`, key.urn);
        }
      }
    }
    for (const g of ix.byType(T.grant)) {
      const grantee = ix.roleTenant.get(g.props.granteePrincipal);
      const owner = ix.keyTenant.get(g.props.keyId);
      if (grantee && owner && grantee !== owner) report(`grant on tenant '${owner}''s key to tenant '${grantee}''s role`, g.urn);
    }
    const roleByName = new Map(ix.byType(T.role).map((r) => [r.props.name, r] as const));
    for (const rp of ix.byType(T.rolePolicy)) {
      const role = roleByName.get(rp.props.role);
      const tenant = role ? tenantOf(role.props) : undefined;
      if (!tenant) continue;
      for (const s of statements(rp.props.policy) ?? []) {
        if (s.Effect !== 'Allow') continue;
        for (const resource of list(s.Resource)) {
          const keyOwner = ix.keyTenant.get(resource);
          if (keyOwner && keyOwner !== tenant) report(`role of tenant '${tenant}' may use tenant '${keyOwner}''s key`, rp.urn);
          const bucket = /^arn:aws[a-z-]*:s3:::([^/]+)/.exec(resource)?.[1];
          const bucketOwner = bucket ? ix.bucketTenant.get(bucket) : undefined;
          if (bucketOwner && bucketOwner !== tenant) report(`role of tenant '${tenant}' may use tenant '${bucketOwner}''s bucket ${bucket}`, rp.urn);
        }
      }
    }
  },
};

const everyBucketGuarded: StackValidationPolicy = {
  name: 'aws-s3-every-bucket-guarded',
  description: 'Every bucket has a public access block and a bucket policy that refuses plain HTTP.',
  enforcementLevel: 'mandatory',
  validateStack: (args, report) => {
    const ix = index(args.resources);
    const blocked = new Set(ix.byType(T.publicAccess).map((p) => p.props.bucket));
    const tlsOnly = new Set(
      ix.byType(T.bucketPolicy)
        .filter((p) => (statements(p.props.policy) ?? []).some((s) => s.Effect === 'Deny' && String(s.Condition?.Bool?.['aws:SecureTransport']) === 'false'))
        .map((p) => p.props.bucket),
    );
    for (const b of ix.byType(T.bucket)) {
      const name = b.props.bucket;
      if (name === undefined) continue;
      if (!blocked.has(name)) report(`bucket ${name} has no public access block`, b.urn);
      if (!tlsOnly.has(name)) report(`bucket ${name} has no policy denying requests without TLS`, b.urn);
    }
  },
};

/** Actions that read tenant data; the gateway's identity must have none of them (save assuming a trace reader). */
const TENANT_READ_ACTIONS = /^(s3:Get|s3:List|s3:\*|kms:Decrypt|kms:ReEncrypt|kms:\*|glue:Get|athena:|sts:AssumeRole|\*$)/i;
/** What assuming a role takes; the gateway may do it on trace readers only. */
const ASSUME_ACTIONS = ['sts:AssumeRole', 'sts:TagSession'];
/** A trace reader writes nothing but its query results. */
const READER_WRITES = /^(s3:(Put|Delete|Abort|Restore|Replicate)|glue:(Create|Update|Delete|Batch)|athena:(Create|Update|Delete|Stop)|kms:(Encrypt|ReEncrypt|CreateGrant)|iam:|sts:)/i;

const gatewayCannotRead: StackValidationPolicy = {
  name: 'aws-gateway-no-tenant-read',
  description:
    "The gateway role has no policy that reads tenant data save assuming tenants' trace readers (roles under /trace-readers/ that only the gateway may assume, which write nothing but Athena results), and key policies let it only encrypt, bound to a tenant encryption context.",
  enforcementLevel: 'mandatory',
  validateStack: (args, report) => {
    const ix = index(args.resources);
    const gatewayRoles = ix.byType(T.role).filter((r) => /(^|[-/])gateway$/.test(String(r.props.name ?? '')) && String(r.props.path ?? '').includes('/runtime/'));
    const gatewayNames = new Set(gatewayRoles.map((r) => r.props.name));
    const gatewayArns = new Set(gatewayRoles.map((r) => r.props.arn));
    const readers = ix.byType(T.role).filter((r) => String(r.props.path ?? '').endsWith('/trace-readers/'));
    const readerArns = new Set(readers.map((r) => r.props.arn));
    const readerNames = new Set(readers.map((r) => r.props.name));
    for (const r of readers) {
      for (const s of statements(r.props.assumeRolePolicy) ?? []) {
        const others = principals(s).filter((p) => !gatewayArns.has(p));
        if (s.Effect === 'Allow' && others.length) report(`trace reader ${r.props.name} may be assumed by ${others.join(', ')} (only the gateway)`, r.urn);
      }
    }
    for (const rp of ix.byType(T.rolePolicy)) {
      if (readerNames.has(rp.props.role)) {
        for (const s of statements(rp.props.policy) ?? []) {
          if (s.Effect !== 'Allow') continue;
          const results = list(s.Resource).every((r) => /\/athena-results\/\*$/.test(r));
          const writes = list(s.Action).filter((a) => READER_WRITES.test(a) && !(results && /^s3:(PutObject|AbortMultipartUpload)$/.test(a)));
          if (writes.length) report(`trace reader ${rp.props.role} may ${writes.join(', ')}`, rp.urn);
        }
      }
      if (!gatewayNames.has(rp.props.role)) continue;
      for (const s of statements(rp.props.policy) ?? []) {
        if (s.Effect !== 'Allow') continue;
        const onReaders = list(s.Resource).length > 0 && list(s.Resource).every((r) => readerArns.has(r));
        const reads = list(s.Action).filter((a) => TENANT_READ_ACTIONS.test(a) && !(onReaders && ASSUME_ACTIONS.includes(a)));
        if (reads.length) report(`the gateway role may ${reads.join(', ')}${onReaders ? '' : ` on ${list(s.Resource).join(', ')}`}`, rp.urn);
      }
    }
    for (const a of ix.byType(T.attachment)) {
      if (gatewayNames.has(a.props.role)) report(`the gateway role has managed policy ${a.props.policyArn}`, a.urn);
    }
    for (const key of ix.byType(T.key)) {
      for (const s of statements(key.props.policy) ?? []) {
        if (s.Effect !== 'Allow' || !principals(s).some((p) => gatewayArns.has(p))) continue;
        const reads = list(s.Action).filter((a) => !['kms:Encrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext'].includes(a));
        if (reads.length) report(`key policy lets the gateway ${reads.join(', ')}`, key.urn);
        const tenant = tenantOf(key.props);
        const ctx = s.Condition?.StringEquals?.[kmsContextConditionKey('tenant')];
        if (tenant && ctx !== tenant) report(`key policy of tenant '${tenant}' lets the gateway encrypt without binding the tenant's encryption context`, key.urn);
      }
    }
  },
};

export const awsRules: GuardrailPolicy[] = [
  s3Encryption,
  bucketPublicAccessBlock,
  bucketNoPublicGrants,
  kmsRotation,
  kmsPolicyExact,
  glueTableEncrypted,
  athenaEncrypted,
  rdsEncryptedPrivate,
  eksSecretsEncrypted,
  eksEndpointOpen,
  eksEnforcesNetworkPolicy,
  ebsEncrypted,
  tlsOnlyEdge,
  iamNoWildcards,
  sandboxPoolTainted,
  everyBucketGuarded,
  tenantIsolation,
  gatewayCannotRead,
];

