/** Anthropic Messages API adapter (POST /v1/messages), tool use included. */
import { httpError, ModelError, networkError, toolNameResolver, wireToolName } from './errors.js';
import type { ChatMessage, ModelAdapter, ModelRequest, ModelTurn, ToolCall } from './types.js';

export const ANTHROPIC_VERSION = '2023-06-01';

export interface AnthropicOptions {
  model: string;
  apiKey: string;
  baseUrl: string;
  maxTokens: number;
  fetch?: typeof fetch;
}

type ContentBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> }
  | { type: 'tool_result'; tool_use_id: string; content: string; is_error?: boolean };

interface WireMessage {
  role: 'user' | 'assistant';
  content: string | ContentBlock[];
}

/** Neutral messages → Anthropic messages (tool results ride in user turns, consecutive ones merged). */
export function toAnthropicMessages(messages: ChatMessage[]): WireMessage[] {
  const out: WireMessage[] = [];
  for (const message of messages) {
    if (message.role === 'user') out.push({ role: 'user', content: message.content });
    else if (message.role === 'assistant') {
      const blocks: ContentBlock[] = message.content ? [{ type: 'text', text: message.content }] : [];
      for (const call of message.toolCalls ?? []) blocks.push({ type: 'tool_use', id: call.id, name: wireToolName(call.tool), input: call.args });
      out.push({ role: 'assistant', content: blocks });
    } else {
      const block: ContentBlock = { type: 'tool_result', tool_use_id: message.callId, content: message.content, ...(message.isError ? { is_error: true } : {}) };
      const last = out[out.length - 1];
      if (last && last.role === 'user' && Array.isArray(last.content) && last.content.every((b) => b.type === 'tool_result')) last.content.push(block);
      else out.push({ role: 'user', content: [block] });
    }
  }
  return out;
}

export function anthropicAdapter(options: AnthropicOptions): ModelAdapter {
  const doFetch = options.fetch ?? fetch;
  const url = `${options.baseUrl.replace(/\/+$/, '')}/v1/messages`;
  return {
    provider: 'anthropic',
    async complete(request: ModelRequest, { signal } = {}): Promise<ModelTurn> {
      const body = {
        model: options.model,
        max_tokens: options.maxTokens,
        ...(request.instructions ? { system: request.instructions } : {}),
        messages: toAnthropicMessages(request.messages),
        ...(request.tools.length > 0
          ? { tools: request.tools.map((t) => ({ name: wireToolName(t.name), description: t.description, input_schema: t.input })) }
          : {}),
      };
      let response: Response;
      try {
        response = await doFetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': options.apiKey, 'anthropic-version': ANTHROPIC_VERSION },
          body: JSON.stringify(body),
          signal,
        });
      } catch (err) {
        throw networkError('anthropic', options.baseUrl, err);
      }
      if (!response.ok) throw await httpError('anthropic', response);
      const data = (await response.json()) as {
        model?: string;
        content?: ContentBlock[];
        stop_reason?: string;
        usage?: { input_tokens?: number; output_tokens?: number };
      };
      if (!Array.isArray(data.content)) {
        throw new ModelError('MODEL_BAD_RESPONSE', 'anthropic answered without a content array', { retryable: false });
      }
      const toolName = toolNameResolver(request.tools);
      const text = data.content.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join('');
      const calls: ToolCall[] = data.content.flatMap((b) => (b.type === 'tool_use' ? [{ id: b.id, tool: toolName(b.name), args: b.input ?? {} }] : []));
      const usage = { inputTokens: data.usage?.input_tokens ?? 0, outputTokens: data.usage?.output_tokens ?? 0 };
      const model = data.model ?? options.model;
      return calls.length > 0 ? { kind: 'tool_calls', text, calls, usage, model } : { kind: 'reply', text, usage, model };
    },
  };
}
