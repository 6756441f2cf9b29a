/**
 * One loopback server that speaks the outbound wire formats of all four channels, for
 * tests and benchmarks: Slack `POST /api/chat.postMessage` (Bearer token, `{ok, ts}` or
 * `{ok:false, error}`), Telegram `POST /bot<token>/sendMessage` (`{ok, result}` or
 * `{ok:false, error_code, description, parameters.retry_after}`), WhatsApp
 * `POST /v21.0/<phone-number-id>/messages` (`{messages:[{id}]}` or `{error:{...}}`), and
 * a generic webhook receiver at `POST /reply`.
 *
 * It records every request it receives — duplicates included — so a test can assert
 * "exactly once" by counting, and it can be told to fail the next requests.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedMessage {
  channel: 'slack' | 'telegram' | 'whatsapp' | 'webhook';
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

export interface Fault {
  status: number;
  headers?: Record<string, string>;
  /** Telegram's body-level wait. */
  retryAfterSeconds?: number;
}

export interface ChannelLoopback {
  url: string;
  received: ReceivedMessage[];
  /** Answer the next requests with these faults, in order. */
  faults: Fault[];
  /** Resolves when `count` messages have been received (or rejects after timeoutMs). */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
  close(): Promise<void>;
}

export async function channelLoopback(tokens: { slack?: string; telegram?: string; whatsapp?: string } = {}): Promise<ChannelLoopback> {
  const received: ReceivedMessage[] = [];
  const faults: Fault[] = [];
  const waiters: Array<() => void> = [];
  let seq = 0;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      let body: any;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = undefined;
      }
      const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(payload));
      };
      const channel: ReceivedMessage['channel'] | undefined =
        path === '/api/chat.postMessage' ? 'slack'
        : /^\/bot[^/]+\/sendMessage$/.test(path) ? 'telegram'
        : /^\/v\d+\.\d+\/[^/]+\/messages$/.test(path) ? 'whatsapp'
        : path === '/reply' ? 'webhook'
        : undefined;
      if (!channel || req.method !== 'POST') return send(404, { error: 'not found' });

      const fault = faults.shift();
      if (fault) {
        if (channel === 'telegram') {
          return send(fault.status, { ok: false, error_code: fault.status, description: 'Too Many Requests', ...(fault.retryAfterSeconds ? { parameters: { retry_after: fault.retryAfterSeconds } } : {}) }, fault.headers);
        }
        if (channel === 'slack' && fault.status === 429) return send(429, { ok: false, error: 'ratelimited' }, fault.headers);
        return send(fault.status, { error: { message: 'injected fault', code: fault.status } }, fault.headers);
      }

      // Authentication exactly as each API does it.
      const bearer = req.headers.authorization?.replace(/^Bearer /, '');
      if (channel === 'slack' && tokens.slack && bearer !== tokens.slack) return send(200, { ok: false, error: 'invalid_auth' });
      if (channel === 'telegram' && tokens.telegram && path !== `/bot${tokens.telegram}/sendMessage`) return send(401, { ok: false, error_code: 401, description: 'Unauthorized' });
      if (channel === 'whatsapp' && tokens.whatsapp && bearer !== tokens.whatsapp) {
        return send(401, { error: { message: 'Invalid OAuth access token.', type: 'OAuthException', code: 190 } });
      }

      received.push({ channel, path, headers: req.headers, body });
      for (const wake of waiters.splice(0)) wake();
      seq++;
      if (channel === 'slack') {
        if (!body?.channel || !body?.text) return send(200, { ok: false, error: body?.channel ? 'no_text' : 'channel_not_found' });
        return send(200, { ok: true, channel: body.channel, ts: `1760000000.${String(seq).padStart(6, '0')}`, message: { text: body.text } });
      }
      if (channel === 'telegram') {
        if (body?.chat_id === undefined || !body?.text) return send(400, { ok: false, error_code: 400, description: 'Bad Request: message text is empty' });
        return send(200, { ok: true, result: { message_id: 1000 + seq, chat: { id: Number(body.chat_id) }, date: 1760000000, text: body.text } });
      }
      if (channel === 'whatsapp') {
        if (body?.messaging_product !== 'whatsapp' || !body?.to) return send(400, { error: { message: '(#100) Invalid parameter', type: 'OAuthException', code: 100 } });
        return send(200, { messaging_product: 'whatsapp', contacts: [{ input: body.to, wa_id: body.to }], messages: [{ id: `wamid.loopback${seq}` }] });
      }
      return send(200, { ok: true });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    received,
    faults,
    async waitFor(count, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`loopback received ${received.length} of ${count} messages within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return received.slice(0, count);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
