import { Command } from 'commander';
import { loadConfig } from '../../core/config/load.js';
import { ClawError } from '../../core/errors.js';
import type { RunRecord } from '../../runtime/store/metadata.js';
import { openPlatform } from '../../stacks/local/platform.js';
import { globalOptions, output } from '../context.js';

function duration(run: RunRecord): string {
  return run.finishedAt ? `${run.finishedAt.getTime() - run.startedAt.getTime()} ms` : '-';
}

export function runsCommand(): Command {
  const runs = new Command('runs').description('agent runs recorded in the metadata store');
  runs
    .command('list')
    .description('recent runs, newest first (metadata only)')
    .option('--tenant <id>', 'only this tenant')
    .option('--agent <id>', 'only this agent')
    .option('--limit <n>', 'how many', '20')
    .action(async function (this: Command, opts: { tenant?: string; agent?: string; limit: string }) {
      const global = globalOptions(this);
      const session = await openPlatform(global.stateDir, loadConfig(global.config));
      try {
        const list = await session.store.listRuns({ tenantId: opts.tenant, agentId: opts.agent, limit: Number(opts.limit) });
        output(global, { type: 'runs', runs: list }, () =>
          list.length === 0
            ? 'no runs yet'
            : list
                .map((r) => [r.id, `${r.tenantId}/${r.agentId}`, r.status, r.startedAt.toISOString(), duration(r), `${r.steps} step(s)`, r.model ?? '-'].join('  '))
                .join('\n'),
        );
      } finally {
        await session.close();
      }
    });
  runs
    .command('show <id>')
    .description("one run: its metadata, and its message and reply (decrypted with the tenant's key)")
    .action(async function (this: Command, id: string) {
      const global = globalOptions(this);
      const session = await openPlatform(global.stateDir, loadConfig(global.config));
      try {
        const run = await session.store.getRun(id);
        if (!run) throw new ClawError('UNKNOWN_RUN', `no run '${id}'`, { hint: "list runs with 'claw runs list'" });
        const content = await session.store.runContent(run);
        output(global, { type: 'run', run, content }, () =>
          [
            `run       ${run.id}`,
            `agent     ${run.tenantId}/${run.agentId}   workflow ${run.workflowId}`,
            `status    ${run.status}${run.errorCode ? ` (${run.errorCode})` : ''}`,
            `started   ${run.startedAt.toISOString()}   took ${duration(run)}`,
            `model     ${run.model ?? '-'}   ${run.steps} step(s), ${run.toolCalls} tool call(s), tokens ${run.inputTokens} in / ${run.outputTokens} out`,
            `message   ${content.message}`,
            `reply     ${content.reply ?? '-'}`,
          ].join('\n'),
        );
      } finally {
        await session.close();
      }
    });
  return runs;
}
