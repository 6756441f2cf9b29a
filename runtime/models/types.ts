/**
 * The model port: one neutral conversation format that every adapter (Anthropic Messages,
 * OpenAI-compatible chat completions, scripted) translates to and from its wire format.
 * These types cross the workflow boundary, so they are plain JSON.
 */

export interface ToolCall {
  /** Provider-assigned id (scripted: `call-<step>-<n>`); tool results refer to it. */
  id: string;
  tool: string;
  args: Record<string, unknown>;
}

export type ChatMessage =
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls?: ToolCall[] }
  | { role: 'tool'; callId: string; tool: string; content: string; isError?: boolean };

/** What the model is told about a tool it may call. */
export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the arguments. */
  input: Record<string, unknown>;
}

export interface ModelRequest {
  instructions: string;
  messages: ChatMessage[];
  tools: ToolSpec[];
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

export type ModelTurn =
  | { kind: 'reply'; text: string; usage: Usage; model: string }
  | { kind: 'tool_calls'; text: string; calls: ToolCall[]; usage: Usage; model: string };

export interface ModelAdapter {
  /** 'anthropic' | 'openai' | 'scripted' */
  readonly provider: string;
  complete(request: ModelRequest, options?: { signal?: AbortSignal }): Promise<ModelTurn>;
}

/** Label that marks scripted output wherever it shows (replies, run records, traces). */
export const SCRIPTED_LABEL = '[scripted]';
