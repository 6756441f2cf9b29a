/**
 * What each step of a run did, attempt by attempt — the model call that got a 429 and
 * then a 500 and then an answer, the tool call and its decision, the approval wait, the
 * reply, the budget outcome — as metadata only (never prompts, arguments or replies),
 * for `claw runs show`. And the outbox of delivered effects (replies), keyed by their
 * idempotency key, so a retried send that already went out is not sent again.
 *
 * Tables come from the store's migration 2 (runtime/store/migrations.ts).
 */
import pg from 'pg';

export type StepKind = 'model' | 'tool' | 'approval' | 'reply' | 'end';

export interface RunStep {
  tenantId: string;
  runId: string;
  /** The workflow's step counter: deterministic, so a replayed workflow writes the same rows. */
  seq: number;
  attempt: number;
  kind: StepKind;
  /** Model name, tool name, channel, or the end reason. */
  name?: string;
  callId?: string;
  /** ok | error | denied | waiting | approved | rejected | timeout | sent | duplicate | completed | budget_exceeded | cancelled | failed */
  status: string;
  /** A stable code: an error code, an authorization decision, a budget name. */
  code?: string;
  /** One short line of metadata (e.g. 'HTTP 429, retry after 1000 ms'); never content. */
  detail?: string;
  durationMs?: number;
  inputTokens?: number;
  outputTokens?: number;
  at?: Date;
}

export interface SentEffect {
  idempotencyKey: string;
  tenantId: string;
  runId: string;
  channel: string;
  messageId?: string;
}

export class RunSteps {
  private constructor(private readonly pool: pg.Pool) {}

  /** `url` is the metadata store (DATABASE_URL); the store process has migrated it. */
  static async connect(url: string, options: { max?: number } = {}): Promise<RunSteps> {
    const pool = new pg.Pool({ connectionString: url, max: options.max ?? 2, connectionTimeoutMillis: 5_000 });
    pool.on('error', () => {});
    return new RunSteps(pool);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** Idempotent per (run, seq, kind, attempt): an activity retried after writing keeps one row. */
  async record(step: RunStep): Promise<void> {
    await this.pool.query(
      `insert into run_steps (tenant_id, run_id, seq, attempt, kind, name, call_id, status, code, detail, duration_ms, input_tokens, output_tokens)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
       on conflict (tenant_id, run_id, seq, kind, attempt) do update
         set status = excluded.status, code = excluded.code, detail = excluded.detail, duration_ms = excluded.duration_ms,
             input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens, at = now()`,
      [step.tenantId, step.runId, step.seq, step.attempt, step.kind, step.name ?? null, step.callId ?? null, step.status, step.code ?? null,
        step.detail?.slice(0, 300) ?? null, step.durationMs === undefined ? null : Math.round(step.durationMs), step.inputTokens ?? null, step.outputTokens ?? null],
    );
  }

  async list(tenantId: string, runId: string): Promise<RunStep[]> {
    const { rows } = await this.pool.query(
      `select * from run_steps where tenant_id = $1 and run_id = $2 order by seq, case kind when 'approval' then 0 else 1 end, attempt`,
      [tenantId, runId],
    );
    return rows.map((r) => ({
      tenantId: r.tenant_id,
      runId: r.run_id,
      seq: r.seq,
      attempt: r.attempt,
      kind: r.kind,
      name: r.name ?? undefined,
      callId: r.call_id ?? undefined,
      status: r.status,
      code: r.code ?? undefined,
      detail: r.detail ?? undefined,
      durationMs: r.duration_ms ?? undefined,
      inputTokens: r.input_tokens ?? undefined,
      outputTokens: r.output_tokens ?? undefined,
      at: new Date(r.at),
    }));
  }

  async sentEffect(idempotencyKey: string): Promise<SentEffect | undefined> {
    const { rows } = await this.pool.query('select * from sent_effects where idempotency_key = $1', [idempotencyKey]);
    const r = rows[0];
    return r ? { idempotencyKey: r.idempotency_key, tenantId: r.tenant_id, runId: r.run_id, channel: r.channel, messageId: r.message_id ?? undefined } : undefined;
  }

  async recordEffect(effect: SentEffect): Promise<void> {
    await this.pool.query(
      `insert into sent_effects (idempotency_key, tenant_id, run_id, channel, message_id) values ($1, $2, $3, $4, $5)
       on conflict (idempotency_key) do nothing`,
      [effect.idempotencyKey, effect.tenantId, effect.runId, effect.channel, effect.messageId ?? null],
    );
  }
}

/** The lines `claw runs show` prints under a run: one per step attempt. */
export function formatRunSteps(steps: RunStep[]): string[] {
  return steps.map((s) => {
    const what =
      s.kind === 'model' ? `model ${s.name ?? ''} attempt ${s.attempt}`
      : s.kind === 'tool' ? `tool ${s.name ?? ''} (${s.callId ?? '-'})${s.attempt > 1 ? ` attempt ${s.attempt}` : ''}`
      : s.kind === 'approval' ? `approval ${s.name ?? ''} (${s.callId ?? '-'})`
      : s.kind === 'reply' ? `reply via ${s.name ?? '-'}${s.attempt > 1 ? ` attempt ${s.attempt}` : ''}`
      : 'end';
    const tokens = s.inputTokens !== undefined ? ` ${s.inputTokens}+${s.outputTokens ?? 0} tokens` : '';
    const took = s.durationMs !== undefined ? ` ${s.durationMs} ms` : '';
    return `  #${String(s.seq).padEnd(3)} ${what.padEnd(40)} ${s.status}${s.code ? ` ${s.code}` : ''}${tokens}${took}${s.detail ? ` — ${s.detail}` : ''}`;
  });
}
