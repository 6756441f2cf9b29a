/**
 * `claw channels url`: for every agent channel, the gateway endpoint a channel provider
 * must call and the exact setting to paste into that provider (Slack's Request URL,
 * Telegram's setWebhook, WhatsApp's Callback URL), with the tenant secrets it needs and
 * whether they are set. `--public-url` (a tunnel the user runs, or the cloud ingress)
 * replaces the local address, which no provider can reach.
 */
import { Command } from 'commander';
import { z } from 'zod';
import type { Agent, ClawConfig } from '../../core/config/schema.js';
import { ClawError } from '../../core/errors.js';
import { DEFAULT_SECRET_NAMES, type ChannelType } from '../../runtime/channels/types.js';
import { localTenantKeyring } from '../../runtime/crypto/index.js';
import { openSecretStore } from '../../runtime/secrets/index.js';
import { globalOptions, output, type GlobalOptions } from '../context.js';
import { loadInstallConfig, metadataStoreUrl } from './platform-access.js';

const PublicUrl = z
  .url({ protocol: /^https?$/, message: 'must be an http(s) URL, e.g. https://claw.example.ngrok.app' })
  .transform((u) => u.replace(/\/+$/, ''));

export interface ChannelEndpoint {
  tenant: string;
  agent: string;
  type: ChannelType;
  url: string;
  /** Tenant secrets this channel reads, and whether each is set (undefined: store not reachable). */
  secrets: { name: string; purpose: string; set?: boolean }[];
  /** What to paste where, in the provider's own words. */
  setup: string[];
}

function secretNames(channel: Agent['channels'][number]): { name: string; purpose: string }[] {
  const defaults = DEFAULT_SECRET_NAMES[channel.type];
  const names = [{ name: channel.signingSecret ?? defaults.signing, purpose: 'verifies deliveries' }];
  const token = channel.tokenSecret ?? defaults.token;
  if (token) names.push({ name: token, purpose: 'sends replies' });
  const verify = channel.verifyTokenSecret ?? defaults.verifyToken;
  if (verify) names.push({ name: verify, purpose: 'answers the subscription check' });
  return names;
}

function setupSteps(type: ChannelType, url: string, secrets: { name: string }[]): string[] {
  const [signing, token, verify] = secrets.map((s) => s.name);
  switch (type) {
    case 'slack':
      return [
        `Slack app > Event Subscriptions > Enable Events > Request URL: ${url}`,
        'Subscribe to bot events: message.im, app_mention (and message.channels for channels the bot is in)',
        `Basic Information > Signing Secret -> claw secrets set ${signing} --tenant <tenant>`,
        `OAuth & Permissions > Bot User OAuth Token (scopes chat:write, im:history, app_mentions:read) -> claw secrets set ${token} --tenant <tenant>`,
      ];
    case 'telegram':
      return [
        `Pick a random secret token and store it: claw secrets set ${signing} --tenant <tenant>`,
        `Register the webhook: curl -F "url=${url}" -F "secret_token=<the same token>" "https://api.telegram.org/bot<bot token>/setWebhook"`,
        `Store the bot token from @BotFather: claw secrets set ${token} --tenant <tenant>`,
      ];
    case 'whatsapp':
      return [
        `Meta app > WhatsApp > Configuration > Callback URL: ${url}`,
        `Verify token: any string you choose, stored with: claw secrets set ${verify} --tenant <tenant>`,
        'Webhook fields: subscribe to messages',
        `App settings > Basic > App Secret -> claw secrets set ${signing} --tenant <tenant>; access token -> claw secrets set ${token} --tenant <tenant>`,
      ];
    case 'webhook':
      return [
        `POST JSON to ${url} with headers x-claw-timestamp (unix seconds) and x-claw-signature: v1=<hex HMAC-SHA256 of "v1:<timestamp>:<body>">`,
        `The HMAC key is the tenant secret ${signing} (claw secrets set ${signing} --tenant <tenant>); 'claw events send' signs test deliveries`,
      ];
  }
}

/** Every channel endpoint of claw.yaml's agents (optionally one tenant's or one agent's). */
export function channelEndpoints(config: ClawConfig, baseUrl: string, filter: { tenant?: string; agent?: string } = {}): ChannelEndpoint[] {
  return config.agents
    .filter((a) => (!filter.tenant || a.tenant === filter.tenant) && (!filter.agent || a.id === filter.agent))
    .flatMap((agent) =>
      agent.channels.map((channel) => {
        const url = `${baseUrl}/t/${agent.tenant}/${channel.type}/${agent.id}`;
        const secrets = secretNames(channel);
        return { tenant: agent.tenant, agent: agent.id, type: channel.type, url, secrets, setup: setupSteps(channel.type, url, secrets).map((s) => s.replaceAll('<tenant>', agent.tenant)) };
      }),
    );
}

/** Which of the endpoints' secrets are set, when the metadata store is reachable (names only). */
async function markSecrets(global: GlobalOptions, endpoints: ChannelEndpoint[]): Promise<boolean> {
  const url = metadataStoreUrl(global);
  if (!url || endpoints.length === 0) return false;
  const store = await openSecretStore({ databaseUrl: url, keyring: localTenantKeyring(global.stateDir) });
  try {
    const byTenant = new Map<string, Set<string>>();
    for (const tenant of new Set(endpoints.map((e) => e.tenant))) byTenant.set(tenant, new Set(await store.list(tenant)));
    for (const e of endpoints) for (const s of e.secrets) s.set = byTenant.get(e.tenant)!.has(s.name);
    return true;
  } finally {
    await store.close();
  }
}

export function channelsCommand(): Command {
  const channels = new Command('channels').description("agents' channels (Slack, Telegram, WhatsApp, webhooks)");
  channels
    .command('url')
    .description('print each channel endpoint and the exact setting to paste into the channel provider')
    .option('--tenant <id>', 'only this tenant')
    .option('--agent <id>', 'only this agent')
    .option('--public-url <url>', 'the public base URL that reaches the gateway (a tunnel you run, or the cloud ingress)')
    .action(async function (this: Command, opts: { tenant?: string; agent?: string; publicUrl?: string }) {
      const global = globalOptions(this);
      const config = loadInstallConfig(global);
      let base: string;
      if (opts.publicUrl !== undefined) {
        const parsed = PublicUrl.safeParse(opts.publicUrl);
        if (!parsed.success) throw new ClawError('PUBLIC_URL_INVALID', `--public-url ${opts.publicUrl}: ${parsed.error.issues[0]?.message}`, { hint: 'pass the https URL your tunnel prints' });
        base = parsed.data;
      } else if (config.target === 'local') {
        base = `http://127.0.0.1:${config.local.gatewayPort}`;
      } else {
        throw new ClawError('PUBLIC_URL_REQUIRED', `the ${config.target} gateway's address is not in claw.yaml`, { hint: "pass --public-url with the gateway URL ('claw outputs' shows it)" });
      }
      if (opts.tenant && !config.tenants.some((t) => t.id === opts.tenant)) {
        throw new ClawError('UNKNOWN_TENANT', `no tenant '${opts.tenant}' in claw.yaml`, { hint: `tenants: ${config.tenants.map((t) => t.id).join(', ') || '(none)'}` });
      }
      const endpoints = channelEndpoints(config, base, opts);
      const checked = await markSecrets(global, endpoints);
      const local = opts.publicUrl === undefined;
      output(global, { type: 'channels.url', base, local, endpoints }, () => {
        if (endpoints.length === 0) return "no agent has a channel; add one under an agent's 'channels:' in claw.yaml";
        const lines: string[] = [];
        if (local) {
          lines.push(`note: ${base} is reachable from this machine only; channel providers need a public https URL.`);
          lines.push(`      Run a tunnel to 127.0.0.1:${config.local.gatewayPort} and pass its URL with --public-url.`, '');
        }
        for (const e of endpoints) {
          lines.push(`${e.tenant}/${e.agent} ${e.type}: ${e.url}`);
          for (const step of e.setup) lines.push(`  - ${step}`);
          for (const s of e.secrets) lines.push(`  secret ${s.name} (${s.purpose}): ${!checked ? 'not checked (platform not running)' : s.set ? 'set' : 'MISSING'}`);
          lines.push('');
        }
        return lines.join('\n');
      });
    });
  return channels;
}
