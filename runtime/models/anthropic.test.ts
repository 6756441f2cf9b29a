import { afterEach, describe, expect, it } from 'vitest';
import { anthropicAdapter } from './anthropic.js';
import { ModelError } from './errors.js';
import { loopbackServer } from './loopback.test-helper.js';
import type { ModelRequest } from './types.js';

const tools = [{ name: 'time.now', description: 'current time', input: { type: 'object', properties: {} } }];
let close: (() => Promise<void>) | undefined;
afterEach(async () => close?.());

describe('anthropic adapter (Messages API over loopback HTTP)', () => {
  it('sends the Messages wire format and plays a tool-use round trip', async () => {
    const server = await loopbackServer([
      {
        body: {
          model: 'claude-test', stop_reason: 'tool_use', usage: { input_tokens: 12, output_tokens: 7 },
          content: [{ type: 'text', text: 'Let me check.' }, { type: 'tool_use', id: 'toolu_1', name: 'time__now', input: { tz: 'UTC' } }],
        },
      },
      { body: { model: 'claude-test', stop_reason: 'end_turn', usage: { input_tokens: 30, output_tokens: 5 }, content: [{ type: 'text', text: 'It is noon.' }] } },
    ]);
    close = server.close;
    const adapter = anthropicAdapter({ model: 'claude-test', apiKey: 'sk-ant-test-key', baseUrl: server.url, maxTokens: 256 });
    const request: ModelRequest = { instructions: 'Be brief.', messages: [{ role: 'user', content: 'what time is it?' }], tools };

    const first = await adapter.complete(request);
    expect(first).toEqual({
      kind: 'tool_calls', text: 'Let me check.', model: 'claude-test',
      calls: [{ id: 'toolu_1', tool: 'time.now', args: { tz: 'UTC' } }],
      usage: { inputTokens: 12, outputTokens: 7 },
    });
    const sent = server.requests[0]!;
    expect(sent.method).toBe('POST');
    expect(sent.path).toBe('/v1/messages');
    expect(sent.headers['x-api-key']).toBe('sk-ant-test-key');
    expect(sent.headers['anthropic-version']).toBe('2023-06-01');
    expect(sent.body).toMatchObject({
      model: 'claude-test', max_tokens: 256, system: 'Be brief.',
      messages: [{ role: 'user', content: 'what time is it?' }],
      tools: [{ name: 'time__now', description: 'current time', input_schema: { type: 'object', properties: {} } }],
    });

    const second = await adapter.complete({
      ...request,
      messages: [
        ...request.messages,
        { role: 'assistant', content: first.text, toolCalls: first.kind === 'tool_calls' ? first.calls : [] },
        { role: 'tool', callId: 'toolu_1', tool: 'time.now', content: '"12:00"' },
      ],
    });
    expect(second).toMatchObject({ kind: 'reply', text: 'It is noon.', usage: { inputTokens: 30, outputTokens: 5 } });
    expect(server.requests[1]!.body.messages.slice(1)).toEqual([
      { role: 'assistant', content: [{ type: 'text', text: 'Let me check.' }, { type: 'tool_use', id: 'toolu_1', name: 'time__now', input: { tz: 'UTC' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '"12:00"' }] },
    ]);
  });

  it('marks 429 retryable with the provider-requested delay, and 401 as a non-retryable auth failure without the key', async () => {
    const server = await loopbackServer([
      { status: 429, headers: { 'retry-after': '3' }, body: { type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } } },
      { status: 401, body: { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } } },
    ]);
    close = server.close;
    const adapter = anthropicAdapter({ model: 'm', apiKey: 'sk-ant-secret-value', baseUrl: server.url, maxTokens: 16 });
    const request: ModelRequest = { instructions: '', messages: [{ role: 'user', content: 'hi' }], tools: [] };

    const limited = await adapter.complete(request).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(ModelError);
    expect(limited).toMatchObject({ code: 'MODEL_UNAVAILABLE', retryable: true, retryAfterMs: 3000, status: 429 });

    const denied = (await adapter.complete(request).catch((e: unknown) => e)) as ModelError;
    expect(denied).toMatchObject({ code: 'MODEL_AUTH_FAILED', retryable: false });
    expect(denied.toLine()).not.toContain('sk-ant-secret-value');
    expect(server.requests[1]!.body.tools).toBeUndefined();
  });

  it('reports an unreachable endpoint as retryable', async () => {
    const adapter = anthropicAdapter({ model: 'm', apiKey: 'k', baseUrl: 'http://127.0.0.1:9', maxTokens: 16 });
    await expect(adapter.complete({ instructions: '', messages: [{ role: 'user', content: 'hi' }], tools: [] })).rejects.toMatchObject({
      code: 'MODEL_UNREACHABLE', retryable: true,
    });
  });
});
