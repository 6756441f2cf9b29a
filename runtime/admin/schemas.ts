/**
 * JSON Schemas of the admin API's requests and answers: Fastify validates requests and
 * serializes answers with them, and @fastify/swagger builds the OpenAPI 3.1 document from
 * them, so the document cannot drift from what the server does.
 */
const str = { type: 'string' } as const;
const id = (pattern: string, description: string) => ({ type: 'string', pattern, description }) as const;

const tenant = id('^[a-z][a-z0-9-]{0,30}[a-z0-9]$', 'a tenant id');
const runId = id('^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$', 'a run id');
const callId = id('^[^\\s/]{1,200}$', 'a tool call id');

export const ApiError = {
  type: 'object',
  description: 'Every error: a stable code (docs/errors.md), what is wrong, and how to fix it',
  required: ['code', 'message'],
  properties: {
    code: str,
    message: str,
    hint: str,
    details: { type: 'object', additionalProperties: true },
  },
} as const;

export const TenantParams = { type: 'object', required: ['tenant'], properties: { tenant } } as const;
export const RunParams = { type: 'object', required: ['tenant', 'runId'], properties: { tenant, runId } } as const;
export const CallParams = { type: 'object', required: ['tenant', 'runId', 'callId'], properties: { tenant, runId, callId } } as const;
export const KeyParams = { type: 'object', required: ['tenant', 'keyId'], properties: { tenant, keyId: id('^[0-9a-f]{16}$', 'an API key id') } } as const;

export const Page = {
  type: 'object',
  properties: {
    after: { type: 'integer', minimum: 0, description: 'entries after this seq' },
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
  },
  additionalProperties: false,
} as const;

export const Me = {
  type: 'object',
  required: ['kind', 'id', 'tenants'],
  properties: {
    kind: { type: 'string', enum: ['user', 'apiKey'] },
    id: str,
    tenants: { type: 'array', items: { type: 'object', required: ['tenant', 'roles'], properties: { tenant: str, roles: { type: 'array', items: str } } } },
  },
} as const;

const Pending = {
  type: 'object',
  required: ['runId', 'callId', 'tool', 'step', 'since'],
  properties: {
    runId: str,
    callId: str,
    agentId: str,
    tool: str,
    step: { type: 'integer' },
    since: str,
    args: { type: 'object', additionalProperties: true, description: 'the arguments the approver decides on' },
    mayDecide: { type: 'boolean', description: 'whether the caller may approve or deny it (Cedar, for this caller and tool)' },
  },
} as const;

export const ApprovalList = { type: 'object', required: ['tenant', 'pending'], properties: { tenant: str, pending: { type: 'array', items: Pending } } } as const;

export const DecisionBody = {
  type: 'object',
  required: ['approve'],
  additionalProperties: false,
  properties: { approve: { type: 'boolean' }, reason: { type: 'string', maxLength: 2000, description: 'why (sent to the run encrypted)' } },
} as const;

export const Decision = {
  type: 'object',
  required: ['tenant', 'runId', 'callId', 'tool', 'step', 'approved'],
  properties: { type: str, tenant: str, runId: str, callId: str, tool: str, step: { type: 'integer' }, args: { type: 'object', additionalProperties: true }, approved: { type: 'boolean' }, by: str },
} as const;

const AuditEntry = {
  type: 'object',
  required: ['seq'],
  properties: {
    seq: { type: 'integer' },
    at: str,
    actor: { type: 'object', properties: { kind: str, id: str } },
    action: str,
    resource: str,
    decision: { type: 'string', enum: ['allow', 'deny'] },
    determiningPolicies: { type: 'array', items: str },
    details: { type: 'object', additionalProperties: true },
    hash: str,
    unreadable: { type: 'string', description: 'set when the entry does not decrypt' },
  },
} as const;

export const AuditList = { type: 'object', required: ['tenant', 'entries'], properties: { tenant: str, entries: { type: 'array', items: AuditEntry } } } as const;

export const AuditVerify = {
  type: 'object',
  required: ['tenant', 'ok', 'entries'],
  properties: {
    tenant: str,
    ok: { type: 'boolean' },
    entries: { type: 'integer' },
    head: { type: 'object', properties: { seq: { type: 'integer' }, hash: str } },
    seq: { type: 'integer', description: 'the first broken entry' },
    code: str,
    message: str,
  },
} as const;

const ApiKey = {
  type: 'object',
  required: ['id', 'tenantId', 'name', 'roles', 'createdBy', 'createdAt', 'expiresAt'],
  properties: { id: str, tenantId: str, name: str, roles: { type: 'array', items: str }, createdBy: str, createdAt: str, expiresAt: str, revokedAt: str },
} as const;

export const ApiKeyList = { type: 'object', required: ['tenant', 'keys'], properties: { tenant: str, keys: { type: 'array', items: ApiKey } } } as const;

export const ApiKeyCreate = {
  type: 'object',
  required: ['name', 'roles'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 128 },
    roles: { type: 'array', minItems: 1, maxItems: 32, items: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,30}[a-z0-9]$' } },
    ttlDays: { type: 'integer', minimum: 1, maximum: 366, default: 90 },
  },
} as const;

export const ApiKeyCreated = {
  type: 'object',
  required: ['key', 'token'],
  properties: { key: ApiKey, token: { type: 'string', description: 'shown once; only its hash is kept' } },
} as const;

export const Revoked = { type: 'object', required: ['tenant', 'id', 'revoked'], properties: { tenant: str, id: str, revoked: { type: 'boolean' } } } as const;

export const SecretList = {
  type: 'object',
  required: ['tenant', 'names'],
  properties: {
    tenant: str,
    names: { type: 'array', items: str },
    changed: { type: 'array', description: 'when each last changed, where the store keeps it', items: { type: 'object', properties: { name: str, updatedAt: str } } },
  },
} as const;

const secretName = id('^[A-Za-z_][A-Za-z0-9_.-]{0,127}$', 'a secret name');
export const SecretParams = { type: 'object', required: ['tenant', 'name'], properties: { tenant, name: secretName } } as const;
export const SecretBody = { type: 'object', required: ['value'], additionalProperties: false, properties: { value: { type: 'string', minLength: 1, maxLength: 65536, writeOnly: true } } } as const;
export const SecretChanged = { type: 'object', required: ['tenant', 'name', 'changed'], properties: { tenant: str, name: str, changed: { type: 'boolean' } } } as const;

export const KeyStatus = {
  type: 'object',
  required: ['tenant', 'state'],
  properties: { tenant: str, state: { type: 'string', enum: ['active', 'destroyed', 'missing'] }, versions: { type: 'array', items: { type: 'integer' } } },
} as const;
export const ShredBody = { type: 'object', required: ['confirm'], additionalProperties: false, properties: { confirm: { type: 'string', description: 'the tenant id, typed again' } } } as const;

const statuses = ['running', 'completed', 'failed', 'cancelled', 'budget_exceeded'];
export const RunsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    agent: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,30}[a-z0-9]$' },
    status: { type: 'string', enum: statuses },
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
  },
} as const;
export const ShowRunQuery = { type: 'object', additionalProperties: false, properties: { decrypt: { type: 'boolean', default: false } } } as const;

const int = { type: 'integer' } as const;
const nullable = (t: string) => ({ type: [t, 'null'] }) as const;
const RunSummary = {
  type: 'object',
  required: ['runId', 'agentId', 'status', 'startedAt'],
  properties: { runId: str, agentId: str, status: str, startedAt: str, lastEventAt: str, events: int, inputTokens: int, outputTokens: int, toolCalls: int, denied: int },
} as const;
export const RunList = { type: 'object', required: ['tenant', 'runs'], properties: { tenant: str, runs: { type: 'array', items: RunSummary } } } as const;

const Step = {
  type: 'object',
  additionalProperties: true,
  properties: {
    seq: int,
    kind: str,
    time: str,
    offsetMs: { type: 'number' },
    operation: nullable('string'),
    model: nullable('string'),
    inputTokens: nullable('integer'),
    outputTokens: nullable('integer'),
    durationMs: nullable('number'),
    tool: nullable('string'),
    callId: nullable('string'),
    decision: nullable('string'),
    policies: { type: 'array', items: str },
    reasons: { type: 'array', items: str },
    approval: nullable('string'),
    approver: nullable('string'),
    status: nullable('string'),
    contentBytes: nullable('integer'),
    content: { description: 'decrypted content: only with decrypt=true' },
  },
} as const;
export const Timeline = {
  type: 'object',
  required: ['tenantId', 'runId', 'agentId', 'status', 'decrypted', 'steps'],
  properties: {
    tenantId: str,
    runId: str,
    agentId: str,
    status: str,
    startedAt: str,
    endedAt: str,
    durationMs: { type: 'number' },
    budgetOutcome: nullable('string'),
    totals: { type: 'object', additionalProperties: { type: 'number' } },
    decrypted: { type: 'boolean' },
    steps: { type: 'array', items: Step },
  },
} as const;

export const PolicyList = {
  type: 'object',
  required: ['tenant', 'policies'],
  properties: {
    tenant: str,
    policies: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'effect', 'file', 'text'],
        properties: { id: str, effect: { type: 'string', enum: ['permit', 'forbid'] }, file: str, line: int, shadow: { type: 'boolean' }, annotations: { type: 'object', additionalProperties: { type: 'string' } }, text: str },
      },
    },
  },
} as const;

export const ExplainBody = {
  type: 'object',
  required: ['agent', 'tool'],
  additionalProperties: false,
  properties: {
    agent: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,30}[a-z0-9]$' },
    tool: { type: 'string', pattern: '^[a-z][a-z0-9_-]*(\\.[a-z][a-z0-9_-]*)*$', maxLength: 128 },
    args: { type: 'object', additionalProperties: true },
    channel: { type: 'string', maxLength: 32 },
  },
} as const;

const Determining = { type: 'object', required: ['id'], properties: { id: str, annotations: { type: 'object', additionalProperties: { type: 'string' } } } } as const;
export const Explained = {
  type: 'object',
  required: ['tenant', 'agent', 'tool', 'decision', 'determining'],
  properties: {
    tenant: str,
    agent: str,
    tool: str,
    decision: { type: 'string', enum: ['allow', 'deny'] },
    requiresApproval: { type: 'boolean' },
    determining: { type: 'array', items: Determining },
    errors: { type: 'array', items: str },
    shadow: { type: 'object', properties: { decision: str, determining: { type: 'array', items: Determining } } },
  },
} as const;

const AgentSummary = {
  type: 'object',
  required: ['id', 'revision', 'model', 'tools', 'channels', 'schedules'],
  properties: {
    id: str,
    revision: int,
    appliedAt: str,
    appliedBy: str,
    model: { type: 'object', properties: { provider: str, model: str } },
    tools: { type: 'array', items: { type: 'object', properties: { name: str, approval: str } } },
    channels: { type: 'array', items: str },
    schedules: { type: 'array', items: { type: 'object', properties: { id: str, cron: str, timezone: str } } },
  },
} as const;

export const AgentList = { type: 'object', required: ['tenant', 'agents'], properties: { tenant: str, agents: { type: 'array', items: AgentSummary } } } as const;

const agentId = id('^[a-z][a-z0-9-]{0,62}$', 'an agent id');
export const AgentParams = { type: 'object', required: ['tenant', 'agent'], properties: { tenant, agent: agentId } } as const;
/** An agent file's content as JSON (claw.yaml's agent schema; docs/agents.md): validated by the server. */
export const AgentSpec = { type: 'object', required: ['id', 'tenant', 'model'], properties: { id: str, tenant: str, model: { type: 'object' } }, additionalProperties: true } as const;
export const AgentApplied = {
  type: 'object',
  required: ['tenant', 'id', 'revision', 'changed'],
  properties: { tenant: str, id: str, revision: int, changed: { type: 'boolean' } },
} as const;
export const AgentRevisions = {
  type: 'object',
  required: ['tenant', 'id', 'revisions'],
  properties: { tenant: str, id: str, revisions: { type: 'array', items: { ...AgentSummary, properties: { ...AgentSummary.properties, source: str, spec: { type: 'object', additionalProperties: true } } } } },
} as const;

const policyName = id('^[a-z0-9][a-z0-9-]{0,62}$', "a policy's name (its file is applied/<name>.cedar)");
export const PolicyParams = { type: 'object', required: ['tenant', 'name'], properties: { tenant, name: policyName } } as const;
/** A Cedar policy file's text, as proposed (diff) or applied. */
const cedarText = { type: 'string', maxLength: 262144 } as const;
export const PolicyText = { type: 'object', required: ['text'], additionalProperties: false, properties: { text: { ...cedarText, minLength: 1 } } } as const;
export const PolicyRevisions = {
  type: 'object',
  required: ['tenant', 'name', 'revisions'],
  properties: {
    tenant: str,
    name: str,
    revisions: {
      type: 'array',
      items: { type: 'object', required: ['revision', 'appliedAt', 'appliedBy', 'removed'], properties: { revision: int, appliedAt: str, appliedBy: str, removed: { type: 'boolean' }, text: str } },
    },
  },
} as const;
export const RevisionDiffQuery = {
  type: 'object',
  required: ['from', 'to'],
  additionalProperties: false,
  properties: { from: { type: 'integer', minimum: 0, description: '0: before the first revision' }, to: { type: 'integer', minimum: 1 } },
} as const;

export const Payloads = {
  type: 'object',
  required: ['payloads'],
  properties: {
    payloads: {
      type: 'array',
      maxItems: 1000,
      items: { type: 'object', properties: { metadata: { type: 'object', additionalProperties: { type: 'string', description: 'base64' } }, data: { type: 'string', description: 'base64' } } },
    },
  },
} as const;

export const DiffBody = {
  type: 'object',
  required: ['file', 'text'],
  additionalProperties: false,
  properties: { file: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\\.cedar$' }, text: cedarText },
} as const;

export const Diffed = {
  type: 'object',
  required: ['tenant', 'file', 'changes'],
  properties: {
    tenant: str,
    file: str,
    revision: { type: 'integer', description: 'the revision applied (apply and remove only)' },
    changed: { type: 'boolean', description: 'false when the text was already in force (apply and remove only)' },
    changes: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          tenant: str,
          agent: str,
          subject: str,
          change: { type: 'string', enum: ['gains', 'loses', 'changes'] },
          actions: {
            type: 'array',
            items: { type: 'object', properties: { action: str, resource: str, before: str, after: str, policies: { type: 'array', items: str }, conditional: { type: 'boolean' } } },
          },
        },
      },
    },
  },
} as const;
