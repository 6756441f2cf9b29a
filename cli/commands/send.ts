import { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ClawError } from '../../core/errors.js';
import type { AgentRunInput, AgentRunResult } from '../../runtime/workflows/types.js';
import { runWorkflowId } from '../../runtime/temporal/names.js';
import { openPlatform, openTenantClient } from '../../stacks/local/platform.js';
import { temporalAddress } from '../../stacks/local/supervisor.js';
import { globalOptions, output } from '../context.js';
import { loadInstallConfig } from './platform-access.js';

/** Run ids sort by time: base36 milliseconds, then randomness. */
export function newRunId(): string {
  return `r${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

function failureOf(err: WorkflowFailedError, runId: string): ClawError {
  let cause: unknown = err.cause;
  while (cause) {
    if (cause instanceof ApplicationFailure && cause.type) {
      return new ClawError(cause.type, cause.message, { hint: `see 'claw runs show ${runId}'` });
    }
    cause = (cause as { cause?: unknown }).cause;
  }
  return new ClawError('RUN_FAILED', err.message, { hint: `see 'claw runs show ${runId}'` });
}

export function sendCommand(): Command {
  return new Command('send')
    .description("send a message to an agent and print its reply (starts the agentRun workflow)")
    .requiredOption('--tenant <id>', 'the tenant')
    .requiredOption('--agent <id>', 'the agent')
    .argument('<message>', 'the message')
    .action(async function (this: Command, message: string, opts: { tenant: string; agent: string }) {
      const global = globalOptions(this);
      const config = loadInstallConfig(global);
      if (!config.tenants.some((t) => t.id === opts.tenant)) {
        throw new ClawError('UNKNOWN_TENANT', `no tenant '${opts.tenant}' in ${global.config}`, {
          hint: `check --tenant, or add it with 'claw tenant create ${opts.tenant}'`,
        });
      }
      const session = await openPlatform(global.stateDir, config);
      let connection: Awaited<ReturnType<typeof openTenantClient>>['connection'] | undefined;
      try {
        if (!(await session.store.getTenant(opts.tenant))) {
          throw new ClawError('UNKNOWN_TENANT', `tenant '${opts.tenant}' is in claw.yaml but not registered`, { hint: "run 'claw up' to register it" });
        }
        const agent = await session.store.getAgent(opts.tenant, opts.agent);
        if (!agent) {
          throw new ClawError('UNKNOWN_AGENT', `tenant '${opts.tenant}' has no agent '${opts.agent}'`, {
            hint: "apply it with 'claw agent apply -f <agent file>' (or list it under 'agents:' in claw.yaml and run 'claw up')",
          });
        }
        const opened = await openTenantClient(temporalAddress(config), session.keyring, opts.tenant);
        connection = opened.connection;
        const { tenant } = opened;
        const runId = newRunId();
        const input: AgentRunInput = { tenantId: opts.tenant, agentId: opts.agent, runId, message };
        const began = performance.now();
        let result: AgentRunResult;
        try {
          result = await tenant.client.workflow.execute('agentRun', {
            ...tenant.route,
            workflowId: runWorkflowId(opts.tenant, runId),
            args: [input],
            // No execution timeout: the workflow enforces maxWallTime itself, ending cleanly with
            // BUDGET_WALL_TIME_EXCEEDED, and time parked on a human approval does not count.
          });
        } catch (err) {
          if (err instanceof WorkflowFailedError) throw failureOf(err, runId);
          throw err;
        }
        const ms = performance.now() - began;
        const stats = `run ${runId} · ${result.model ?? 'no model call'} · ${result.steps} step(s), ${result.toolCalls} tool call(s) · ${ms.toFixed(0)} ms`;
        output(global, { type: 'reply', tenant: opts.tenant, agent: opts.agent, ...result, ms }, () =>
          result.status === 'completed'
            ? `${result.reply}\n(${stats})`
            // A run that ended early (budget, cancel) has no reply: say how it ended.
            : `no reply: the run ended ${result.status} (${result.reason})\n(${stats}; 'claw runs show ${runId}' has the timeline)`,
        );
      } finally {
        await connection?.close();
        await session.close();
      }
    });
}
