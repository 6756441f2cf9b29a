/**
 * The outbox of delivered effects (replies), keyed by their idempotency key, so a retried
 * send that already went out is not sent again. What each step of a run did (attempts,
 * decisions, retries) is in the run's trace (runtime/traces), not here.
 *
 * The table comes from the store's migration 2 (runtime/store/migrations.ts).
 */
import pg from 'pg';

export interface SentEffect {
  idempotencyKey: string;
  tenantId: string;
  runId: string;
  channel: string;
  messageId?: string;
}

export class ReplyOutbox {
  private constructor(private readonly pool: pg.Pool) {}

  /** `url` is the metadata store (DATABASE_URL); the store process has migrated it. */
  static async connect(url: string, options: { max?: number } = {}): Promise<ReplyOutbox> {
    const pool = new pg.Pool({ connectionString: url, max: options.max ?? 2, connectionTimeoutMillis: 5_000 });
    pool.on('error', () => {});
    return new ReplyOutbox(pool);
  }

  async close(): Promise<void> {
    await this.pool.end();
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
