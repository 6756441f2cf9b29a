/** OpenAI-compatible chat completions adapter (POST <baseUrl>/chat/completions), tool calls included. */
import { httpError, ModelError, networkError, toolNameResolver, wireToolName } from './errors.js';
import type { ChatMessage, ModelAdapter, ModelRequest, ModelTurn, ToolCall } from './types.js';

export interface OpenAIOptions {
  model: string;
  apiKey: string;
  /** Including the version path, e.g. https://api.openai.com/v1 */
  baseUrl: string;
  maxTokens: number;
  fetch?: typeof fetch;
}

interface WireToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

type WireMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: WireToolCall[] }
  | { role: 'tool'; tool_call_id: string; content: string };

export function toOpenAIMessages(instructions: string, messages: ChatMessage[]): WireMessage[] {
  const out: WireMessage[] = instructions ? [{ role: 'system', content: instructions }] : [];
  for (const message of messages) {
    if (message.role === 'user') out.push({ role: 'user', content: message.content });
    else if (message.role === 'assistant') {
      const calls = message.toolCalls ?? [];
      out.push({
        role: 'assistant',
        content: message.content || null,
        ...(calls.length > 0
          ? { tool_calls: calls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: wireToolName(c.tool), arguments: JSON.stringify(c.args) } })) }
          : {}),
      });
    } else out.push({ role: 'tool', tool_call_id: message.callId, content: message.content });
  }
  return out;
}

function parseArguments(raw: string | undefined): Record<string, unknown> {
  if (!raw) return {};
  try {
    const value: unknown = JSON.parse(raw);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : { value };
  } catch {
    // Models sometimes emit broken JSON; hand it to the tool as-is rather than failing the run.
    return { _raw: raw };
  }
}

export function openaiAdapter(options: OpenAIOptions): ModelAdapter {
  const doFetch = options.fetch ?? fetch;
  const url = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  return {
    provider: 'openai',
    async complete(request: ModelRequest, { signal } = {}): Promise<ModelTurn> {
      const body = {
        model: options.model,
        max_tokens: options.maxTokens,
        messages: toOpenAIMessages(request.instructions, request.messages),
        ...(request.tools.length > 0
          ? { tools: request.tools.map((t) => ({ type: 'function', function: { name: wireToolName(t.name), description: t.description, parameters: t.input } })) }
          : {}),
      };
      let response: Response;
      try {
        response = await doFetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${options.apiKey}` },
          body: JSON.stringify(body),
          signal,
        });
      } catch (err) {
        throw networkError('openai', options.baseUrl, err);
      }
      if (!response.ok) throw await httpError('openai', response);
      const data = (await response.json()) as {
        model?: string;
        choices?: { message?: { content?: string | null; tool_calls?: WireToolCall[] }; finish_reason?: string }[];
        usage?: { prompt_tokens?: number; completion_tokens?: number };
      };
      const message = data.choices?.[0]?.message;
      if (!message) throw new ModelError('MODEL_BAD_RESPONSE', 'openai answered without choices[0].message', { retryable: false });
      const toolName = toolNameResolver(request.tools);
      const calls: ToolCall[] = (message.tool_calls ?? []).map((c) => ({ id: c.id, tool: toolName(c.function.name), args: parseArguments(c.function.arguments) }));
      const usage = { inputTokens: data.usage?.prompt_tokens ?? 0, outputTokens: data.usage?.completion_tokens ?? 0 };
      const text = message.content ?? '';
      const model = data.model ?? options.model;
      return calls.length > 0 ? { kind: 'tool_calls', text, calls, usage, model } : { kind: 'reply', text, usage, model };
    },
  };
}
