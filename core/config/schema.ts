/**
 * The schema of `claw.yaml`, the one config file of an install (DESIGN.md invariant 6).
 * Everything the stacks declare and everything the runtime does is a function of it.
 *
 * The same schema is exported as JSON Schema (`claw.schema.json`) for editors.
 */
import { z } from 'zod';
import { ClawError } from '../errors.js';
import { ROLE_GRANTS } from './access.js';

export const TARGETS = ['local', 'aws', 'gcp'] as const;
export type Target = (typeof TARGETS)[number];

/** AWS commercial regions the stacks support (EKS, KMS, Athena, Glue all present). */
export const AWS_REGIONS = [
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2',
  'ca-central-1', 'sa-east-1',
  'eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-central-1', 'eu-central-2', 'eu-north-1', 'eu-south-1', 'eu-south-2',
  'ap-south-1', 'ap-south-2', 'ap-southeast-1', 'ap-southeast-2', 'ap-southeast-3', 'ap-southeast-4',
  'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-east-1',
  'me-south-1', 'me-central-1', 'il-central-1', 'af-south-1',
] as const;

/** GCP regions the stacks support (GKE Sandbox, Cloud KMS, BigQuery all present). */
export const GCP_REGIONS = [
  'us-central1', 'us-east1', 'us-east4', 'us-east5', 'us-south1', 'us-west1', 'us-west2', 'us-west3', 'us-west4',
  'northamerica-northeast1', 'northamerica-northeast2', 'southamerica-east1', 'southamerica-west1',
  'europe-west1', 'europe-west2', 'europe-west3', 'europe-west4', 'europe-west6', 'europe-west8', 'europe-west9',
  'europe-west10', 'europe-west12', 'europe-north1', 'europe-central2', 'europe-southwest1',
  'asia-east1', 'asia-east2', 'asia-northeast1', 'asia-northeast2', 'asia-northeast3', 'asia-south1', 'asia-south2',
  'asia-southeast1', 'asia-southeast2', 'australia-southeast1', 'australia-southeast2',
  'me-central1', 'me-central2', 'me-west1', 'africa-south1',
] as const;

/** Lowercase DNS-label-ish ids: they become bucket names, k8s names, Temporal ids. */
export const ID_PATTERN = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;

/** A run id (runtime/workflows/names.ts runIdFor makes `r-<16 hex>`): what the admin API and the trace readers accept. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * A tenant id from outside (a flag, a path, a call): it becomes path segments, object
 * prefixes, key aliases and dataset names, so it is checked before any use. TENANT_ID_INVALID
 * otherwise, everywhere (one code per meaning).
 */
export function assertTenantId(tenantId: unknown): string {
  if (typeof tenantId !== 'string' || !ID_PATTERN.test(tenantId)) {
    throw new ClawError('TENANT_ID_INVALID', `'${String(tenantId)}' is not a valid tenant id`, {
      hint: "use 2-32 lowercase letters, digits and '-', starting with a letter, e.g. 'acme'",
    });
  }
  return tenantId;
}
const id = (what: string) =>
  z.string().regex(ID_PATTERN, {
    message: `${what} must be 2-32 characters of lowercase letters, digits and '-', starting with a letter and not ending with '-'`,
  });

/** Tool names: dotted lowercase segments, e.g. `echo`, `http.get`, `gmail.send`. */
export const TOOL_NAME_PATTERN = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/;
const toolName = z.string().regex(TOOL_NAME_PATTERN, {
  message: "tool names are dotted lowercase segments, e.g. 'echo' or 'gmail.send'",
});

export const AWS_KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z]{2}(-[a-z]+)+-\d:\d{12}:(key\/[0-9a-f-]{36}|key\/mrk-[0-9a-f]{32}|alias\/[A-Za-z0-9/_-]+)$/;
export const GCP_CRYPTO_KEY = /^projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/locations\/[a-z0-9-]+\/keyRings\/[A-Za-z0-9_-]{1,63}\/cryptoKeys\/[A-Za-z0-9_-]{1,63}$/;
export const GCP_PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
/** S3 and GCS bucket names share the essentials: 3-63 chars, lowercase, digits, '.', '-'. */
export const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Durations like `30s`, `5m`, `2h`, `1d`, `250ms`. */
export const DURATION_PATTERN = /^\d+(ms|s|m|h|d)$/;
const duration = z.string().regex(DURATION_PATTERN, { message: "durations look like '250ms', '30s', '5m', '2h' or '1d'" });

export function durationMs(value: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(value);
  if (!match) throw new Error(`not a duration: ${value}`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

// ---------------------------------------------------------------- tenants

export const TenantKeySchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('managed') }).strict(),
  z
    .object({
      type: z.literal('byok'),
      /** AWS: a KMS key ARN (or alias ARN). GCP: projects/p/locations/l/keyRings/r/cryptoKeys/k. */
      ref: z.string().min(1),
    })
    .strict(),
]);

export const TenantBucketSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('managed') }).strict(),
  z
    .object({
      type: z.literal('byob'),
      name: z.string().regex(BUCKET_NAME, { message: 'bucket names are 3-63 lowercase letters, digits, dots or hyphens' }),
      /** Optional key prefix inside the customer's bucket. */
      prefix: z.string().regex(/^[A-Za-z0-9._/-]*$/).optional(),
    })
    .strict(),
]);

export const RoleSchema = z
  .object({
    name: id('role name'),
    /** IdP groups whose members hold this role in this tenant (exact, case-sensitive). */
    groups: z.array(z.string().min(1).max(256)).default([]),
    /** What the role may do: admin action names, `read` (every read action) or `all`. */
    can: z
      .array(z.enum(ROLE_GRANTS, { message: `a role's can: lists admin actions (${ROLE_GRANTS.join(', ')})` }))
      .min(1, { message: "a role's can: names at least one admin action, 'read' or 'all'" }),
  })
  .strict();

export const TenantSchema = z
  .object({
    id: id('tenant id'),
    name: z.string().min(1).max(128),
    key: TenantKeySchema.default({ type: 'managed' }),
    bucket: TenantBucketSchema.default({ type: 'managed' }),
    /** Send trace content (prompts, completions) to an OTLP collector too. Off by default. */
    otlpContent: z.boolean().default(false),
    /**
     * What removing the tenant from an aws/gcp install does to its key: `retain` (default:
     * the key, bucket and dataset stay in the account, out of the stack) or `shred` (the key
     * is deleted with the tenant: AWS schedules its deletion, Cloud KMS destroys its
     * versions). `claw tenants remove --shred` sets it and applies before it removes the tenant.
     */
    onRemove: z.enum(['retain', 'shred'], { message: "onRemove is 'retain' (keep the key and data) or 'shred' (delete the key with the tenant)" }).default('retain'),
    /**
     * The tenant's own Cedar policies: a directory of *.cedar files, relative to claw.yaml.
     * In force with policies/cedar/base.cedar and the grants compiled from `agents[].tools`.
     */
    policies: z.string().min(1).optional(),
    /**
     * Who may administer the tenant: each role maps IdP groups (the `groups` claim of a
     * signed-in user's token, see `access.oidc`) to admin actions (core/config/access.ts),
     * compiled to one Cedar permit per role. A tenant's own policies may forbid more.
     */
    roles: z.array(RoleSchema).default([]),
    /** Gateway limits for this tenant's webhooks (defaults: 600 requests/minute, 256 KiB bodies). */
    gateway: z
      .object({
        ratePerMinute: z.number().int().positive().max(1_000_000).optional(),
        maxBodyBytes: z.number().int().min(1024).max(1_048_576).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

// ---------------------------------------------------------------- models

const ScriptedToolCall = z
  .object({
    tool: toolName,
    args: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

/**
 * One step of a scripted model: it answers with a reply, or asks for tool calls.
 * `when` (a regex over the latest user message) picks the step; steps without `when`
 * play in order. Scripted models exist for offline demos and tests and are labelled so.
 */
export const ScriptStepSchema = z
  .object({
    when: z.string().optional(),
    reply: z.string().optional(),
    toolCalls: z.array(ScriptedToolCall).optional(),
    usage: z.object({ inputTokens: z.number().int().nonnegative(), outputTokens: z.number().int().nonnegative() }).strict().optional(),
  })
  .strict()
  .refine((step) => (step.reply === undefined) !== (step.toolCalls === undefined), {
    message: 'a script step has exactly one of reply or toolCalls',
  });

export const ModelSchema = z.discriminatedUnion('provider', [
  z
    .object({
      provider: z.literal('scripted'),
      script: z.array(ScriptStepSchema).min(1, { message: 'a scripted model needs at least one step' }),
    })
    .strict(),
  z
    .object({
      provider: z.literal('anthropic'),
      model: z.string().min(1),
      /** Name of the tenant secret that holds the API key (never the key itself). */
      apiKeySecret: z.string().min(1).default('ANTHROPIC_API_KEY'),
      baseUrl: z.url().default('https://api.anthropic.com'),
      maxTokens: z.number().int().positive().default(1024),
    })
    .strict(),
  z
    .object({
      provider: z.literal('openai'),
      model: z.string().min(1),
      apiKeySecret: z.string().min(1).default('OPENAI_API_KEY'),
      baseUrl: z.url().default('https://api.openai.com/v1'),
      maxTokens: z.number().int().positive().default(1024),
    })
    .strict(),
]);

// ---------------------------------------------------------------- tools

/** A JSON Schema object describing a tool's arguments (kept as data; validated at call time). */
const JsonSchemaObject = z.record(z.string(), z.unknown());

const ToolBase = {
  name: toolName,
  description: z.string().default(''),
  input: JsonSchemaObject.default({ type: 'object' }),
  /** Names of tenant secrets the credential broker injects at execution (never shown to the model). */
  secrets: z.array(z.string().min(1)).default([]),
  /** Hosts the tool may reach (egress). Empty: no network. */
  egress: z.array(z.string().min(1)).default([]),
};

export const ToolSchema = z.discriminatedUnion('kind', [
  z
    .object({
      ...ToolBase,
      kind: z.literal('http'),
      method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
      url: z.string().min(1),
      /** Header name -> secret name; the broker adds these headers, the agent never sees them. */
      secretHeaders: z.record(z.string(), z.string()).default({}),
    })
    .strict(),
  z
    .object({
      ...ToolBase,
      kind: z.literal('js'),
      /** JavaScript source run in a V8 isolate; defines `async function run(args, secrets)`. */
      code: z.string().optional(),
      file: z.string().optional(),
      limits: z
        .object({ memoryMb: z.number().int().min(8).max(1024).default(64), timeoutMs: z.number().int().min(10).max(300_000).default(5_000) })
        .strict()
        .default({ memoryMb: 64, timeoutMs: 5_000 }),
    })
    .strict()
    .refine((t) => (t.code === undefined) !== (t.file === undefined), { message: 'a js tool has exactly one of code or file' }),
  z
    .object({
      ...ToolBase,
      kind: z.literal('program'),
      command: z.array(z.string().min(1)).min(1),
      limits: z
        .object({ memoryMb: z.number().int().min(8).max(4096).default(256), timeoutMs: z.number().int().min(10).max(600_000).default(30_000) })
        .strict()
        .default({ memoryMb: 256, timeoutMs: 30_000 }),
    })
    .strict(),
]);

/** Tools that ship with the runtime; claw.yaml may define more under `tools:`. */
export const BUILTIN_TOOLS = ['echo', 'time.now'] as const;

export const ToolGrantSchema = z.union([
  toolName,
  z
    .object({
      name: toolName,
      /** Require a human approval before each call. */
      approval: z.enum(['none', 'required']).default('none'),
    })
    .strict(),
]);

// ---------------------------------------------------------------- channels & schedules

export const CHANNEL_TYPES = ['slack', 'telegram', 'whatsapp', 'webhook'] as const;

export const ChannelSchema = z
  .object({
    type: z.enum(CHANNEL_TYPES),
    /** Name of the tenant secret holding the channel's signing/verification secret. */
    signingSecret: z.string().min(1).optional(),
    /** Name of the tenant secret holding the bot/API token for outbound replies. */
    tokenSecret: z.string().min(1).optional(),
    /** Outbound base URL override (tests point this at loopback servers). */
    apiBaseUrl: z.url().optional(),
    /** Generic webhooks: where replies are POSTed. */
    replyUrl: z.url().optional(),
    /** WhatsApp: name of the tenant secret holding the GET hub.verify_token. */
    verifyTokenSecret: z.string().min(1).optional(),
  })
  .strict();

export const ScheduleSchema = z
  .object({
    id: id('schedule id'),
    /** Standard 5-field cron, evaluated in `timezone`. */
    cron: z.string().regex(/^(\S+\s+){4}\S+$/, { message: "cron has five fields, e.g. '0 9 * * 1-5'" }),
    timezone: z.string().default('UTC'),
    message: z.string().min(1),
    overlap: z.enum(['skip', 'buffer_one', 'allow_all', 'cancel_other']).default('skip'),
    catchupWindow: duration.default('10m'),
  })
  .strict();

export const BudgetSchema = z
  .object({
    maxSteps: z.number().int().positive().default(16),
    maxTokens: z.number().int().positive().default(100_000),
    maxWallTime: duration.default('10m'),
    /** How long a tool call that needs a human approval waits before it is refused (default 1h; not counted in maxWallTime). */
    approvalTimeout: duration.optional(),
  })
  .strict();

// ---------------------------------------------------------------- agents

export const AgentSchema = z
  .object({
    id: id('agent id'),
    tenant: id('tenant id'),
    model: ModelSchema,
    instructions: z.string().default(''),
    tools: z.array(ToolGrantSchema).default([]),
    channels: z.array(ChannelSchema).default([]),
    schedules: z.array(ScheduleSchema).default([]),
    budget: BudgetSchema.default({ maxSteps: 16, maxTokens: 100_000, maxWallTime: '10m' }),
  })
  .strict();

/** An agent file (`claw agent apply -f agent.yaml`) is an agent with an optional `kind`. */
export const AgentFileSchema = AgentSchema.extend({ kind: z.literal('Agent').optional() }).strict();

export const AgentRefSchema = z.object({ file: z.string().min(1) }).strict();

// ---------------------------------------------------------------- install

export const VersionsSchema = z
  .object({
    runtime: z.string().default('0.1.0'),
    temporalChart: z.string().default('0.66.0'),
    temporalServer: z.string().default('1.29.1'),
    openbaoChart: z.string().default('0.19.0'),
    gvisor: z.string().regex(/^\d{8}(\.\d+)?$/, { message: "gVisor releases are dated, e.g. '20250929.0'" }).default('20250929.0'),
  })
  .strict();

const imageRef = z.string().regex(/^[a-z0-9./:_-]+@sha256:[0-9a-f]{64}$/, {
  message: 'images are referenced by digest: registry/name@sha256:<64 hex>',
});

export const ImagesSchema = z
  .object({
    worker: imageRef.optional(),
    gateway: imageRef.optional(),
    codecServer: imageRef.optional(),
    /**
     * aws/gcp: the image program tools run in (a pod per call in the gVisor pool); default the
     * worker's. Build it FROM the worker image: each pod starts with node and
     * /app/runtime/sandbox/seal-output.mjs, which seals the tool's output (SANDBOX_RESULT_UNSEALED otherwise).
     */
    sandbox: imageRef.optional(),
  })
  .strict();

/** An IAM managed policy ARN, as a permissions boundary (claw.yaml and `claw installer-policy`). */
export const PERMISSIONS_BOUNDARY_ARN = /^arn:aws[a-z-]*:iam::\d{12}:policy\/[\w+=,.@/-]+$/;

export const AwsSchema = z
  .object({
    region: z.enum(AWS_REGIONS, { message: `unknown AWS region; use one of ${AWS_REGIONS.slice(0, 4).join(', ')}, ...` }),
    availabilityZones: z.number().int().min(2).max(6).default(3),
    vpcCidr: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/(1[6-9]|2[0-4])$/).default('10.40.0.0/16'),
    domain: z.string().optional(),
    certificateArn: z.string().regex(/^arn:aws[a-z-]*:acm:/).optional(),
    /**
     * An IAM permissions boundary every role the stack creates carries (security teams that
     * require one give its managed policy ARN); `claw installer-policy --permissions-boundary`
     * then only lets the installer create roles with it.
     */
    permissionsBoundary: z
      .string()
      .regex(PERMISSIONS_BOUNDARY_ARN, { message: 'a permissions boundary is a managed policy ARN: arn:aws:iam::<account>:policy/<name>' })
      .optional(),
    /**
     * CIDRs (the installer's, a VPN's) allowed to reach the EKS API's public endpoint. None
     * (the default): the endpoint is private, reachable only from inside the VPC, and the
     * installer runs from there (a bastion, a VPN, CI in the VPC).
     */
    authorizedNetworks: z
      .array(z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, { message: 'authorized networks are IPv4 CIDRs like 203.0.113.0/24' }))
      .refine((cidrs) => !cidrs.includes('0.0.0.0/0'), { message: "0.0.0.0/0 opens the Kubernetes API to every address; name the installer's or VPN's CIDRs" })
      .optional(),
  })
  .strict();

export const GcpSchema = z
  .object({
    project: z.string().regex(GCP_PROJECT_ID, { message: 'GCP project ids are 6-30 lowercase letters, digits or hyphens, starting with a letter' }),
    region: z.enum(GCP_REGIONS, { message: `unknown GCP region; use one of ${GCP_REGIONS.slice(0, 4).join(', ')}, ...` }),
    domain: z.string().optional(),
    /** CIDRs (the installer's, a VPN's) allowed to reach the GKE control plane; none by default. */
    authorizedNetworks: z
      .array(z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, { message: 'authorized networks are IPv4 CIDRs like 203.0.113.0/24' }))
      .optional(),
  })
  .strict();

/** A Kubernetes object name (DNS-1123 subdomain), e.g. a Secret claw.yaml refers to. */
const K8S_OBJECT_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export const TemporalSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('self-hosted') }).strict(),
  z
    .object({
      mode: z.literal('cloud'),
      namespace: z.string().min(1),
      address: z.string().min(1),
      /**
       * Name of the Kubernetes Secret (in the runtime namespace, `claw`) whose `api-key`
       * holds the Temporal Cloud API key. The operator creates it; it never enters claw.yaml
       * or the Pulumi state. The worker and gateway pods wait for it (CreateContainerConfigError).
       */
      apiKeySecret: z.string().regex(K8S_OBJECT_NAME, {
        message: "temporal.apiKeySecret is the name of a Kubernetes Secret (lowercase letters, digits, '-' and '.'), e.g. temporal-cloud-api-key",
      }),
    })
    .strict(),
]);

/**
 * Where an aws/gcp install keeps its Pulumi state, and what encrypts the secrets in it.
 * Default backend: file:// under the state dir. Teams use s3:// or gs://. The secrets
 * provider is the customer's KMS key (awskms:// or gcpkms://); 'passphrase' only when asked.
 */
export const StateSchema = z
  .object({
    backend: z.string().regex(/^(file|s3|gs):\/\/\S+$/, { message: "a state backend is file://<dir>, s3://<bucket>[/prefix] or gs://<bucket>[/prefix]" }).optional(),
    secretsProvider: z
      .string()
      .regex(/^(awskms:\/\/\S+|gcpkms:\/\/\S+|passphrase)$/, {
        message: "a secrets provider is awskms://<key id, ARN or alias>?region=<r>, gcpkms://projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>, or 'passphrase'",
      })
      .optional(),
  })
  .strict();

/**
 * Where run traces go besides each tenant's lake. Additive and optional: without it
 * traces land only in the lake. Content (prompts, completions, tool arguments and
 * results) is exported only for tenants with `otlpContent: true`; everything else gets
 * metadata only (runtime/traces/otlp.ts).
 */
export const ObservabilitySchema = z
  .object({
    otlp: z
      .object({
        /** The OTLP/HTTP traces endpoint, e.g. `https://otel.example.com/v1/traces`. */
        endpoint: z.url({ message: 'observability.otlp.endpoint is the OTLP/HTTP traces URL, e.g. https://otel.example.com/v1/traces' }),
        /** Sent with every export (e.g. the collector's API key header); never logged (only the names are). */
        headers: z.record(z.string().min(1), z.string()).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/**
 * People sign in with the install's OpenID Provider (authorization code + PKCE in the
 * console, device code for `claw login`). The admin API accepts the provider's ID tokens
 * (audience `clientId`) as bearer tokens and the tenant's service API keys.
 */
export const AccessSchema = z
  .object({
    oidc: z
      .object({
        issuer: z.url({ message: 'access.oidc.issuer is the OpenID Provider URL, e.g. https://login.example.com' }),
        clientId: z.string().min(1),
        /** The claim that names the user in the audit log (default `email`, then `sub`). */
        usernameClaim: z.string().min(1).default('email'),
        /** The claim that lists the user's groups (default `groups`). */
        groupsClaim: z.string().min(1).default('groups'),
        /** Extra scopes to ask for beside `openid` (e.g. `groups` with providers that need it). */
        scopes: z.array(z.string().min(1)).default(['email', 'profile']),
      })
      .strict()
      .optional(),
  })
  .strict();

export const ClawConfigSchema = z
  .object({
    apiVersion: z.literal('claw.dev/v1').default('claw.dev/v1'),
    name: id('install name').default('claw'),
    target: z.enum(TARGETS, { message: "target is one of 'local', 'aws' or 'gcp'" }).default('local'),
    aws: AwsSchema.optional(),
    gcp: GcpSchema.optional(),
    versions: VersionsSchema.default(VersionsSchema.parse({})),
    images: ImagesSchema.default({}),
    temporal: TemporalSchema.default({ mode: 'self-hosted' }),
    /** aws/gcp: Pulumi state backend and secrets provider (see StateSchema). */
    state: StateSchema.optional(),
    /** Local target: ports the platform listens on (127.0.0.1 only). */
    local: z
      .object({
        temporalPort: z.number().int().min(1024).max(65535).default(7233),
        temporalUiPort: z.number().int().min(1024).max(65535).default(8233),
        gatewayPort: z.number().int().min(1024).max(65535).default(8787),
        codecServerPort: z.number().int().min(1024).max(65535).default(8788),
        /** The metadata store (PGlite served on the Postgres wire). */
        storePort: z.number().int().min(1024).max(65535).default(8789),
        /** The worker's health endpoint. */
        workerPort: z.number().int().min(1024).max(65535).default(8790),
      })
      .strict()
      .default({ temporalPort: 7233, temporalUiPort: 8233, gatewayPort: 8787, codecServerPort: 8788, storePort: 8789, workerPort: 8790 }),
    /** Trace export beside the lake (see ObservabilitySchema). */
    observability: ObservabilitySchema.optional(),
    /** Sign-in for people (see AccessSchema). */
    access: AccessSchema.default({}),
    tenants: z.array(TenantSchema).default([]),
    tools: z.array(ToolSchema).default([]),
    agents: z.array(z.union([AgentRefSchema, AgentSchema])).default([]),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.target === 'aws' && !config.aws) {
      ctx.addIssue({ code: 'custom', path: ['aws'], message: "target 'aws' needs an 'aws:' section with at least 'region'" });
    }
    if (config.target === 'gcp' && !config.gcp) {
      ctx.addIssue({ code: 'custom', path: ['gcp'], message: "target 'gcp' needs a 'gcp:' section with 'project' and 'region'" });
    }
    // Two local components on one port: the second would fail to start, or answer for the first.
    const byPort = new Map<number, string>();
    for (const [field, port] of Object.entries(config.local)) {
      const other = byPort.get(port);
      if (other) ctx.addIssue({ code: 'custom', path: ['local', field], message: `local.${field} is ${port}, which local.${other} already uses; give each component its own port` });
      else byPort.set(port, field);
    }
    const seen = new Set<string>();
    config.tenants.forEach((tenant, i) => {
      if (seen.has(tenant.id)) {
        ctx.addIssue({ code: 'custom', path: ['tenants', i, 'id'], message: `duplicate tenant id '${tenant.id}'; tenant ids are unique` });
      }
      seen.add(tenant.id);
      const roles = new Set<string>();
      tenant.roles.forEach((role, r) => {
        if (roles.has(role.name)) ctx.addIssue({ code: 'custom', path: ['tenants', i, 'roles', r, 'name'], message: `duplicate role '${role.name}' in tenant '${tenant.id}'` });
        roles.add(role.name);
      });
      if (tenant.key.type === 'byok') {
        const ref = tenant.key.ref;
        if (config.target === 'aws' && !AWS_KMS_KEY_ARN.test(ref)) {
          ctx.addIssue({
            code: 'custom',
            path: ['tenants', i, 'key', 'ref'],
            message: 'a BYOK key on aws is a KMS key ARN: arn:aws:kms:<region>:<12-digit account>:key/<uuid>',
          });
        }
        if (config.target === 'gcp' && !GCP_CRYPTO_KEY.test(ref)) {
          ctx.addIssue({
            code: 'custom',
            path: ['tenants', i, 'key', 'ref'],
            message: 'a BYOK key on gcp is projects/<project>/locations/<loc>/keyRings/<ring>/cryptoKeys/<key>',
          });
        }
      }
    });
    const toolNames = new Set<string>(BUILTIN_TOOLS);
    config.tools.forEach((tool, i) => {
      if (toolNames.has(tool.name)) {
        ctx.addIssue({ code: 'custom', path: ['tools', i, 'name'], message: `duplicate tool '${tool.name}' (built-in tools: ${BUILTIN_TOOLS.join(', ')})` });
      }
      toolNames.add(tool.name);
    });
  });

export type ClawConfigInput = z.input<typeof ClawConfigSchema>;
export type RawClawConfig = z.output<typeof ClawConfigSchema>;
export type Tenant = z.output<typeof TenantSchema>;
export type Role = z.output<typeof RoleSchema>;
export type Access = z.output<typeof AccessSchema>;
export type Agent = z.output<typeof AgentSchema>;
export type AgentFile = z.output<typeof AgentFileSchema>;
export type Tool = z.output<typeof ToolSchema>;
export type ToolGrant = z.output<typeof ToolGrantSchema>;
export type Model = z.output<typeof ModelSchema>;
export type ScriptStep = z.output<typeof ScriptStepSchema>;
export type Channel = z.output<typeof ChannelSchema>;
export type Schedule = z.output<typeof ScheduleSchema>;
export type Budget = z.output<typeof BudgetSchema>;

/** A loaded config: agent file references resolved, cross-references checked. */
export type ClawConfig = Omit<RawClawConfig, 'agents'> & { agents: Agent[] };

/** JSON Schema of claw.yaml for editors (yaml-language-server). */
export function clawJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(ClawConfigSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
