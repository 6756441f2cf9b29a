import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../core/config/load.js';
import { channelEndpoints } from './channels.js';

const config = parseConfig(`
tenants: [{ id: acme, name: Acme }, { id: globex, name: Globex }]
agents:
  - id: helper
    tenant: acme
    model: { provider: scripted, script: [{ reply: hi }] }
    channels: [{ type: slack }, { type: telegram, signingSecret: TG_SECRET }]
  - id: ops
    tenant: globex
    model: { provider: scripted, script: [{ reply: hi }] }
    channels: [{ type: whatsapp }]
`);

describe('claw channels url', () => {
  it('gives each channel its per-tenant, per-agent gateway endpoint under the base URL', () => {
    const endpoints = channelEndpoints(config, 'https://claw.example.test');
    expect(endpoints.map((e) => e.url)).toEqual([
      'https://claw.example.test/t/acme/slack/helper',
      'https://claw.example.test/t/acme/telegram/helper',
      'https://claw.example.test/t/globex/whatsapp/ops',
    ]);
  });

  it("names the exact provider setting with the endpoint, and the channel's own secret names", () => {
    const [slack, telegram] = channelEndpoints(config, 'https://x.test', { tenant: 'acme' });
    expect(slack!.setup[0]).toBe('Slack app > Event Subscriptions > Enable Events > Request URL: https://x.test/t/acme/slack/helper');
    expect(slack!.secrets.map((s) => s.name)).toEqual(['SLACK_SIGNING_SECRET', 'SLACK_BOT_TOKEN']);
    expect(telegram!.setup.join('\n')).toContain('-F "url=https://x.test/t/acme/telegram/helper" -F "secret_token=');
    expect(telegram!.secrets[0]!.name).toBe('TG_SECRET');
    expect(telegram!.setup[0]).toContain('claw secrets set TG_SECRET --tenant acme');
  });

  it('filters by tenant and agent', () => {
    expect(channelEndpoints(config, 'http://b', { tenant: 'globex' }).map((e) => e.type)).toEqual(['whatsapp']);
    expect(channelEndpoints(config, 'http://b', { agent: 'nobody' })).toEqual([]);
  });
});
