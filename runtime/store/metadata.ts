/**
 * The metadata store: tenants, applied agents, and runs. Every process reaches it through
 * `pg` (PGlite over the wire locally, Postgres in the cloud and in tests), so one client
 * works everywhere. Run content goes in and out only through the tenant's TenantCrypto.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Agent } from '../../core/config/schema.js';
import { ClawError } from '../../core/errors.js';
import type { TenantKeyring } from '../ports.js';
import { migratePostgres } from './migrations.js';

export interface TenantRecord {
  id: string;
  name: string;
  createdAt: Date;
}

export interface AgentRecord {
  tenantId: string;
  id: string;
  revision: number;
  spec: Agent;
  source?: string;
  /** Who applied it, where known (the admin API's caller; a direct `claw agent apply` records none). */
  appliedBy?: string;
  appliedAt: Date;
}

/** One revision of a tenant policy applied through the admin API; `text` absent: removed. */
export interface PolicyRevision {
  tenantId: string;
  name: string;
  revision: number;
  text?: string;
  appliedBy: string;
  appliedAt: Date;
}

/** A stored tenant policy's name: it becomes the file name `applied/<name>.cedar` in errors and listings. */
export const POLICY_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

const agentRecord = (r: any): AgentRecord => ({
  tenantId: r.tenant_id,
  id: r.id,
  revision: r.revision,
  spec: r.spec,
  source: r.source ?? undefined,
  ...(r.applied_by ? { appliedBy: r.applied_by } : {}),
  appliedAt: new Date(r.applied_at),
});
const policyRevision = (r: any): PolicyRevision => ({
  tenantId: r.tenant_id,
  name: r.name,
  revision: r.revision,
  ...(r.text !== null ? { text: r.text } : {}),
  appliedBy: r.applied_by,
  appliedAt: new Date(r.applied_at),
});

export type RunStatus = 'running' | 'completed' | 'failed';

/** A run's metadata: all clear text by design (no content). */
export interface RunRecord {
  id: string;
  tenantId: string;
  agentId: string;
  workflowId: string;
  status: RunStatus;
  model?: string;
  steps: number;
  toolCalls: number;
  inputTokens: number;
  outputTokens: number;
  messageBytes: number;
  replyBytes?: number;
  errorCode?: string;
  startedAt: Date;
  finishedAt?: Date;
}

export interface RunContent {
  message: string;
  reply?: string;
}

export interface RunFinish {
  status: Exclude<RunStatus, 'running'>;
  reply?: string;
  model?: string;
  steps: number;
  toolCalls: number;
  inputTokens: number;
  outputTokens: number;
  errorCode?: string;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

function runFromRow(row: any): RunRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    agentId: row.agent_id,
    workflowId: row.workflow_id,
    status: row.status,
    model: row.model ?? undefined,
    steps: row.steps,
    toolCalls: row.tool_calls,
    inputTokens: row.input_tokens,
    outputTokens: row.output_tokens,
    messageBytes: row.message_bytes,
    replyBytes: row.reply_bytes ?? undefined,
    errorCode: row.error_code ?? undefined,
    startedAt: new Date(row.started_at),
    finishedAt: row.finished_at ? new Date(row.finished_at) : undefined,
  };
}

const RUN_COLUMNS = `id, tenant_id, agent_id, workflow_id, status, model, steps, tool_calls, input_tokens, output_tokens,
  message_bytes, reply_bytes, error_code, started_at, finished_at`;

export function specHash(agent: Agent): string {
  return createHash('sha256').update(JSON.stringify(agent)).digest('hex');
}

export class MetadataStore {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly keyring: TenantKeyring | undefined,
  ) {}

  /**
   * Connect (and migrate unless told not to). `keyring` is needed to write or read run
   * content; metadata-only callers (status, lists) may omit it.
   */
  static async connect(url: string, options: { keyring?: TenantKeyring; migrate?: boolean; max?: number } = {}): Promise<MetadataStore> {
    const pool = new pg.Pool({ connectionString: url, max: options.max ?? 4, connectionTimeoutMillis: 5_000 });
    // An idle client losing its server (store restarted) must not crash the process.
    pool.on('error', () => {});
    try {
      if (options.migrate !== false) await migratePostgres(pool);
      else await pool.query('select 1');
    } catch (err) {
      await pool.end().catch(() => {});
      throw new ClawError('STORE_UNAVAILABLE', `the metadata store is not reachable (${(err as Error).message.split('\n')[0]})`, {
        hint: "start the platform with 'claw up' and check 'claw status'",
        cause: err,
      });
    }
    return new MetadataStore(pool, options.keyring);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  // ------------------------------------------------------------ tenants

  async upsertTenant(tenant: { id: string; name: string }): Promise<void> {
    await this.pool.query(
      `insert into tenants (id, name) values ($1, $2)
       on conflict (id) do update set name = excluded.name, updated_at = now() where tenants.name <> excluded.name`,
      [tenant.id, tenant.name],
    );
  }

  async listTenants(): Promise<TenantRecord[]> {
    const { rows } = await this.pool.query('select id, name, created_at from tenants order by id');
    return rows.map((r) => ({ id: r.id, name: r.name, createdAt: new Date(r.created_at) }));
  }

  async getTenant(id: string): Promise<TenantRecord | undefined> {
    const { rows } = await this.pool.query('select id, name, created_at from tenants where id = $1', [id]);
    const r = rows[0];
    return r ? { id: r.id, name: r.name, createdAt: new Date(r.created_at) } : undefined;
  }

  // ------------------------------------------------------------ agents

  /**
   * Store an agent; a changed spec gets the next revision (kept in agent_revisions with who
   * applied it), an identical one changes nothing.
   */
  async applyAgent(agent: Agent, source?: string, appliedBy?: string): Promise<{ revision: number; changed: boolean }> {
    const hash = specHash(agent);
    const { rows } = await this.pool.query(
      `with applied as (
         insert into agents (tenant_id, id, revision, spec, spec_hash, source, applied_by) values ($1, $2, 1, $3, $4, $5, $6)
         on conflict (tenant_id, id) do update
           set revision = agents.revision + 1, spec = excluded.spec, spec_hash = excluded.spec_hash,
               source = excluded.source, applied_by = excluded.applied_by, applied_at = now()
           where agents.spec_hash <> excluded.spec_hash
         returning tenant_id, id, revision, spec, source, applied_by, applied_at)
       insert into agent_revisions (tenant_id, id, revision, spec, source, applied_by, applied_at)
         select tenant_id, id, revision, spec, source, applied_by, applied_at from applied
       returning revision`,
      [agent.tenant, agent.id, JSON.stringify(agent), hash, source ?? null, appliedBy ?? null],
    );
    if (rows[0]) return { revision: rows[0].revision, changed: true };
    const current = await this.getAgent(agent.tenant, agent.id);
    return { revision: current!.revision, changed: false };
  }

  async getAgent(tenantId: string, agentId: string): Promise<AgentRecord | undefined> {
    const { rows } = await this.pool.query(
      'select tenant_id, id, revision, spec, source, applied_by, applied_at from agents where tenant_id = $1 and id = $2',
      [tenantId, agentId],
    );
    return rows[0] ? agentRecord(rows[0]) : undefined;
  }

  async listAgents(tenantId?: string): Promise<AgentRecord[]> {
    const { rows } = await this.pool.query(
      `select tenant_id, id, revision, spec, source, applied_by, applied_at from agents
       where ($1::text is null or tenant_id = $1) order by tenant_id, id`,
      [tenantId ?? null],
    );
    return rows.map(agentRecord);
  }

  /** Every revision of an applied agent, newest first. */
  async agentRevisions(tenantId: string, agentId: string): Promise<AgentRecord[]> {
    const { rows } = await this.pool.query(
      `select tenant_id, id, revision, spec, source, applied_by, applied_at from agent_revisions
       where tenant_id = $1 and id = $2 order by revision desc`,
      [tenantId, agentId],
    );
    return rows.map(agentRecord);
  }

  // ------------------------------------------------------------ tenant policies

  /**
   * Apply a tenant policy's next revision (`text` undefined: remove it). The same text as
   * the current revision changes nothing. Validating it is the caller's job (the admin API
   * compiles the tenant's policies with it first).
   */
  async applyPolicy(tenantId: string, name: string, text: string | undefined, appliedBy: string): Promise<{ revision: number; changed: boolean }> {
    if (!POLICY_NAME.test(name)) throw new ClawError('POLICY_NAME_INVALID', `'${name}' is not a policy name`, { hint: 'use lowercase letters, digits and -, up to 63 characters' });
    const current = (await this.policyRevisions(tenantId, name))[0];
    if (current ? current.text === text : text === undefined) return { revision: current?.revision ?? 0, changed: false };
    const { rows } = await this.pool.query(
      `insert into tenant_policies (tenant_id, name, revision, text, applied_by)
       select $1, $2, coalesce(max(revision), 0) + 1, $3, $4 from tenant_policies where tenant_id = $1 and name = $2
       returning revision`,
      [tenantId, name, text ?? null, appliedBy],
    );
    return { revision: rows[0].revision, changed: true };
  }

  /** The tenant policies in force (the newest revision of each, unless it removed it). */
  async listPolicies(tenantId?: string): Promise<(PolicyRevision & { text: string })[]> {
    const { rows } = await this.pool.query(
      `select * from (
         select distinct on (tenant_id, name) tenant_id, name, revision, text, applied_by, applied_at from tenant_policies
         where ($1::text is null or tenant_id = $1) order by tenant_id, name, revision desc) newest
       where text is not null order by tenant_id, name`,
      [tenantId ?? null],
    );
    return rows.map(policyRevision) as (PolicyRevision & { text: string })[];
  }

  /**
   * What each tenant's applied agents and policies are at (`agent:<id>@<rev>`,
   * `policy:<name>@<rev>`, sorted, joined), for one tenant or all: compared before each
   * decision to tell whether anything changed, with one small query; the rows themselves
   * are read only when something did. A tenant with nothing applied is absent.
   */
  async appliedRevisions(tenantId?: string): Promise<Map<string, string>> {
    const { rows } = await this.pool.query(
      `select tenant_id, 'agent:' || id || '@' || revision as r from agents where ($1::text is null or tenant_id = $1)
       union all
       select tenant_id, 'policy:' || name || '@' || max(revision) from tenant_policies where ($1::text is null or tenant_id = $1) group by tenant_id, name
       order by 1, 2`,
      [tenantId ?? null],
    );
    const out = new Map<string, string>();
    for (const row of rows as { tenant_id: string; r: string }[]) out.set(row.tenant_id, out.has(row.tenant_id) ? `${out.get(row.tenant_id)},${row.r}` : row.r);
    return out;
  }

  /** Every revision of a tenant policy, newest first. */
  async policyRevisions(tenantId: string, name: string): Promise<PolicyRevision[]> {
    const { rows } = await this.pool.query(
      'select tenant_id, name, revision, text, applied_by, applied_at from tenant_policies where tenant_id = $1 and name = $2 order by revision desc',
      [tenantId, name],
    );
    return rows.map(policyRevision);
  }

  // ------------------------------------------------------------ runs

  private crypto(tenantId: string) {
    if (!this.keyring) throw new Error('this MetadataStore was opened without a keyring; run content needs one');
    return this.keyring.forTenant(tenantId);
  }

  /** Record a run's start; idempotent (an activity retry does not duplicate it). */
  async startRun(run: { id: string; tenantId: string; agentId: string; workflowId: string; message: string }): Promise<void> {
    const plaintext = utf8.encode(run.message);
    const ciphertext = await (await this.crypto(run.tenantId)).encrypt(plaintext, 'record');
    await this.pool.query(
      `insert into runs (id, tenant_id, agent_id, workflow_id, status, message_bytes, message_ct)
       values ($1, $2, $3, $4, 'running', $5, $6) on conflict (id) do nothing`,
      [run.id, run.tenantId, run.agentId, run.workflowId, plaintext.byteLength, Buffer.from(ciphertext)],
    );
  }

  async finishRun(tenantId: string, runId: string, finish: RunFinish): Promise<void> {
    let replyCt: Buffer | null = null;
    let replyBytes: number | null = null;
    if (finish.reply !== undefined) {
      const plaintext = utf8.encode(finish.reply);
      replyBytes = plaintext.byteLength;
      replyCt = Buffer.from(await (await this.crypto(tenantId)).encrypt(plaintext, 'record'));
    }
    const { rowCount } = await this.pool.query(
      `update runs set status = $3, model = $4, steps = $5, tool_calls = $6, input_tokens = $7, output_tokens = $8,
         reply_bytes = $9, reply_ct = $10, error_code = $11, finished_at = now()
       where id = $1 and tenant_id = $2`,
      [runId, tenantId, finish.status, finish.model ?? null, finish.steps, finish.toolCalls, finish.inputTokens, finish.outputTokens, replyBytes, replyCt, finish.errorCode ?? null],
    );
    if (rowCount === 0) throw new Error(`run ${runId} of tenant ${tenantId} was never started`);
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const { rows } = await this.pool.query(`select ${RUN_COLUMNS} from runs where id = $1`, [runId]);
    return rows[0] ? runFromRow(rows[0]) : undefined;
  }

  async listRuns(filter: { tenantId?: string; agentId?: string; limit?: number } = {}): Promise<RunRecord[]> {
    const { rows } = await this.pool.query(
      `select ${RUN_COLUMNS} from runs
       where ($1::text is null or tenant_id = $1) and ($2::text is null or agent_id = $2)
       order by started_at desc, id desc limit $3`,
      [filter.tenantId ?? null, filter.agentId ?? null, filter.limit ?? 50],
    );
    return rows.map(runFromRow);
  }

  /**
   * Re-encrypt every run record of a tenant (message and reply) under its current key
   * version (`rotate-key --reencrypt`), a page at a time, each row in one update. Returns
   * the number of runs rewritten.
   */
  async reencryptRuns(tenantId: string, pageSize = 200): Promise<number> {
    const crypto = await this.crypto(tenantId);
    let after = '';
    let count = 0;
    for (;;) {
      const { rows } = await this.pool.query<{ id: string; message_ct: Buffer; reply_ct: Buffer | null }>(
        'select id, message_ct, reply_ct from runs where tenant_id = $1 and id > $2 order by id limit $3',
        [tenantId, after, pageSize],
      );
      for (const row of rows) {
        const message = Buffer.from(await crypto.encrypt(await crypto.decrypt(row.message_ct, 'record'), 'record'));
        const reply = row.reply_ct ? Buffer.from(await crypto.encrypt(await crypto.decrypt(row.reply_ct, 'record'), 'record')) : null;
        await this.pool.query('update runs set message_ct = $3, reply_ct = $4 where id = $1 and tenant_id = $2', [row.id, tenantId, message, reply]);
        count += 1;
      }
      if (rows.length < pageSize) return count;
      after = rows.at(-1)!.id;
    }
  }

  /** Decrypt a run's message and reply (fails closed if the tenant's key is gone). */
  async runContent(run: Pick<RunRecord, 'id' | 'tenantId'>): Promise<RunContent> {
    const { rows } = await this.pool.query('select message_ct, reply_ct from runs where id = $1 and tenant_id = $2', [run.id, run.tenantId]);
    const row = rows[0];
    if (!row) throw new ClawError('UNKNOWN_RUN', `no run '${run.id}'`, { hint: "list runs with 'claw runs list'" });
    const crypto = await this.crypto(run.tenantId);
    const message = fromUtf8.decode(await crypto.decrypt(row.message_ct, 'record'));
    const reply = row.reply_ct ? fromUtf8.decode(await crypto.decrypt(row.reply_ct, 'record')) : undefined;
    return { message, reply };
  }
}
