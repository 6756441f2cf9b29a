/**
 * `claw events send --tenant <t> --channel <c>`: sign and POST a sample delivery to the
 * gateway exactly as the channel would, to try an install out end to end. The signing
 * secret comes from the tenant's secret store (or, for CI, an environment variable named
 * by --secret-env); it is never printed.
 */
import { Command, Option } from 'commander';
import { ClawError } from '../../core/errors.js';
import { CHANNEL_TYPES, DEFAULT_SECRET_NAMES, type ChannelType } from '../../runtime/channels/types.js';
import { sampleDelivery } from '../../runtime/gateway/sample.js';
import { globalOptions, output } from '../context.js';
import { loadInstallConfig } from './platform-access.js';

interface SendOptions {
  tenant: string;
  channel: ChannelType;
  agent?: string;
  text: string;
  thread?: string;
  deliveryId?: string;
  url?: string;
  secretEnv?: string;
  timestamp?: string;
}

export function eventsCommand(): Command {
  const events = new Command('events').description('channel events: send a signed sample delivery to the gateway');
  events
    .command('send')
    .description('sign and POST a sample Slack/Telegram/WhatsApp/webhook delivery to the gateway, as the channel would')
    .requiredOption('--tenant <id>', 'tenant whose endpoint receives it')
    .addOption(new Option('--channel <type>', 'channel wire format').choices([...CHANNEL_TYPES]).makeOptionMandatory())
    .option('--agent <id>', 'agent (needed when several agents of the tenant share the channel)')
    .option('--text <text>', 'message text', 'hello from claw events send')
    .option('--thread <id>', 'conversation thread (same thread → same conversation)')
    .option('--delivery-id <id>', 'the delivery id; send the same one twice to see dedup')
    .option('--url <url>', 'gateway base URL (default: http://127.0.0.1:<local.gatewayPort>)')
    .option('--secret-env <VAR>', "read the signing secret from this environment variable instead of the tenant's secret store")
    .option('--timestamp <unix-seconds>', 'sign with this timestamp (an old one shows the stale-timestamp rejection)')
    .action(async function (this: Command, opts: SendOptions) {
      const global = globalOptions(this);
      const config = loadInstallConfig(global);
      const agent = config.agents.find((a) => a.tenant === opts.tenant && a.channels.some((c) => c.type === opts.channel) && (!opts.agent || a.id === opts.agent));
      const channel = agent?.channels.find((c) => c.type === opts.channel);
      const secretName = channel?.signingSecret ?? DEFAULT_SECRET_NAMES[opts.channel].signing;
      let secret: string | undefined;
      if (opts.secretEnv) {
        secret = process.env[opts.secretEnv];
        if (!secret) throw new ClawError('SECRET_ENV_EMPTY', `environment variable ${opts.secretEnv} is not set`, { hint: 'export it, or drop --secret-env to use the tenant secret store' });
      } else {
        const { tenantSecret } = await import('./platform-access.js');
        secret = await tenantSecret(global, opts.tenant, secretName);
        if (!secret) {
          throw new ClawError('CHANNEL_SECRET_MISSING', `tenant '${opts.tenant}' has no secret '${secretName}' to sign ${opts.channel} deliveries with`, {
            hint: `set it with 'claw secrets set --tenant ${opts.tenant} ${secretName}' (the gateway verifies with the same secret)`,
          });
        }
      }
      const sample = sampleDelivery(opts.channel, {
        text: opts.text,
        thread: opts.thread,
        deliveryId: opts.deliveryId,
        secret,
        nowSeconds: opts.timestamp ? Number(opts.timestamp) : undefined,
      });
      const base = opts.url ?? process.env.CLAW_GATEWAY_URL ?? `http://127.0.0.1:${config.local.gatewayPort}`;
      const path = `/t/${encodeURIComponent(opts.tenant)}/${opts.channel}${opts.agent ? `/${encodeURIComponent(opts.agent)}` : ''}`;
      const started = performance.now();
      let response: Response;
      try {
        response = await fetch(new URL(path, base), { method: 'POST', headers: sample.headers, body: sample.body, signal: AbortSignal.timeout(15_000) });
      } catch (err) {
        throw new ClawError('GATEWAY_UNREACHABLE', `no gateway answered at ${base}`, { hint: "start the platform with 'claw up', or pass --url", cause: err });
      }
      const ackMs = Math.round(performance.now() - started);
      const text = await response.text();
      let body: any;
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
      const result = { type: 'events.sent', tenant: opts.tenant, channel: opts.channel, deliveryId: sample.deliveryId, status: response.status, ackMs, response: body };
      if (!response.ok) {
        const error = body?.error ?? {};
        throw new ClawError(`GATEWAY_${error.code ?? 'REJECTED'}`, `the gateway answered ${response.status}: ${error.message ?? text.slice(0, 200)}`, {
          hint: error.hint,
          details: result,
        });
      }
      output(global, result, () =>
        `${response.status} in ${ackMs} ms: delivery ${sample.deliveryId} ${body?.duplicates ? 'was a duplicate (already accepted)' : 'accepted'}${body?.workflowIds ? ` → ${body.workflowIds.join(', ')}` : ''}`,
      );
    });
  return events;
}
