import { afterEach, describe, expect, it } from 'vitest';
import { modelAdapterFor } from './index.js';
import { loopbackServer } from './loopback.test-helper.js';
import type { ModelRequest } from './types.js';
import type { SecretStore } from '../ports.js';

const tools = [{ name: 'echo', description: 'echo back', input: { type: 'object', properties: { text: { type: 'string' } } } }];
let close: (() => Promise<void>) | undefined;
afterEach(async () => close?.());

/** A SecretStore holding one tenant's secrets in memory (the adapter reads keys only through the port). */
function secrets(values: Record<string, string>): SecretStore {
  return {
    get: async (_tenant, name) => values[name],
    set: async () => {},
    list: async () => Object.keys(values),
    remove: async () => false,
  };
}

describe('openai-compatible adapter (chat completions over loopback HTTP)', () => {
  it('takes the API key from the tenant SecretStore and plays a tool-call round trip', async () => {
    const server = await loopbackServer([
      {
        body: {
          model: 'gpt-test',
          choices: [{ finish_reason: 'tool_calls', message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'echo', arguments: '{"text":"hi"}' } }] } }],
          usage: { prompt_tokens: 20, completion_tokens: 4 },
        },
      },
      { body: { model: 'gpt-test', choices: [{ finish_reason: 'stop', message: { role: 'assistant', content: 'You said hi.' } }], usage: { prompt_tokens: 40, completion_tokens: 6 } } },
    ]);
    close = server.close;
    const adapter = await modelAdapterFor(
      { provider: 'openai', model: 'gpt-test', apiKeySecret: 'OPENAI_API_KEY', baseUrl: `${server.url}/v1`, maxTokens: 100 },
      { tenantId: 'acme', secrets: secrets({ OPENAI_API_KEY: 'sk-openai-test' }) },
    );
    const request: ModelRequest = { instructions: 'sys', messages: [{ role: 'user', content: 'echo hi' }], tools };
    const first = await adapter.complete(request);
    expect(first).toEqual({ kind: 'tool_calls', text: '', model: 'gpt-test', calls: [{ id: 'call_1', tool: 'echo', args: { text: 'hi' } }], usage: { inputTokens: 20, outputTokens: 4 } });
    const sent = server.requests[0]!;
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.headers.authorization).toBe('Bearer sk-openai-test');
    expect(sent.body).toMatchObject({
      model: 'gpt-test', max_tokens: 100,
      messages: [{ role: 'system', content: 'sys' }, { role: 'user', content: 'echo hi' }],
      tools: [{ type: 'function', function: { name: 'echo', description: 'echo back', parameters: tools[0]!.input } }],
    });

    const second = await adapter.complete({
      ...request,
      messages: [...request.messages, { role: 'assistant', content: '', toolCalls: first.kind === 'tool_calls' ? first.calls : [] }, { role: 'tool', callId: 'call_1', tool: 'echo', content: '{"text":"hi"}' }],
    });
    expect(second).toMatchObject({ kind: 'reply', text: 'You said hi.' });
    expect(server.requests[1]!.body.messages.slice(2)).toEqual([
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'echo', arguments: '{"text":"hi"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"text":"hi"}' },
    ]);
  });

  it('honours retry-after-ms on 503 and fails clearly when the tenant has no key', async () => {
    const server = await loopbackServer([{ status: 503, headers: { 'retry-after-ms': '250' }, body: { error: { type: 'server_error' } } }]);
    close = server.close;
    const model = { provider: 'openai' as const, model: 'm', apiKeySecret: 'OPENAI_API_KEY', baseUrl: server.url, maxTokens: 10 };
    const adapter = await modelAdapterFor(model, { tenantId: 'acme', secrets: secrets({ OPENAI_API_KEY: 'k' }) });
    await expect(adapter.complete({ instructions: '', messages: [{ role: 'user', content: 'x' }], tools: [] })).rejects.toMatchObject({
      code: 'MODEL_UNAVAILABLE', retryable: true, retryAfterMs: 250,
    });
    await expect(modelAdapterFor(model, { tenantId: 'acme', secrets: secrets({}) })).rejects.toMatchObject({
      code: 'MODEL_API_KEY_MISSING', retryable: false,
    });
  });
});
