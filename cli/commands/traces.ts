import { Command } from 'commander';
import { z } from 'zod';
import { ID_PATTERN } from '../../core/config/schema.js';
import { ClawError } from '../../core/errors.js';
import { localTenantKeyring } from '../../runtime/crypto/index.js';
import { runTraceQuery } from '../../runtime/traces/query.js';
import { formatTable } from '../../runtime/traces/timeline.js';
import { globalOptions, output } from '../context.js';

const QueryOptions = z.object({
  tenant: z.string().regex(ID_PATTERN, { message: 'tenant ids are 2-32 lowercase letters, digits and -' }),
  decrypt: z.boolean().default(false),
});

export function tracesCommand(): Command {
  const traces = new Command('traces').description("query a tenant's trace lake (OpenTelemetry GenAI events, content sealed)");
  traces
    .command('query <sql>')
    .description("run one SELECT over the view 'traces' of one tenant (only that tenant's files are readable)")
    .requiredOption('--tenant <id>', 'the tenant whose traces to query')
    .option('--decrypt', "open the 'content' column with the tenant key (select run_id, seq, kind, content_key, content)")
    .addHelpText(
      'after',
      `
Columns: tenant_id, day, time, agent_id, run_id, seq, kind, operation, provider, model,
  input_tokens, output_tokens, tool_name, tool_call_id, decision, policies, approval, attempt,
  duration_ms, status, error_type, sandbox, budget_outcome, attributes (JSON), content_bytes,
  content_key and content (ciphertext).
Example: claw traces query --tenant acme "SELECT agent_id, day, count(*) FROM traces GROUP BY ALL"`,
    )
    .action(async function (this: Command, sql: string) {
      const global = globalOptions(this);
      const parsed = QueryOptions.safeParse(this.opts());
      if (!parsed.success) {
        throw new ClawError('OPTIONS_INVALID', parsed.error.issues[0]!.message, { hint: 'e.g. --tenant acme' });
      }
      const { tenant, decrypt } = parsed.data;
      const result = await runTraceQuery({
        stateDir: global.stateDir,
        tenantId: tenant,
        sql,
        decrypt,
        keyring: decrypt ? localTenantKeyring(global.stateDir) : undefined,
      });
      output(global, { type: 'traces.query', tenant, columns: result.columns, rows: result.rows.map(jsonSafe) }, () =>
        `${formatTable(result.columns, result.rows)}\n(${result.rows.length} row${result.rows.length === 1 ? '' : 's'})`,
      );
    });
  return traces;
}

function jsonSafe(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v]));
}
