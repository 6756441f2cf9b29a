/** What crosses the agentRun workflow boundary (plain JSON; encrypted by the tenant's codec in transit and at rest). */
import type { Agent } from '../../core/config/schema.js';
import type { ChatMessage, ModelTurn, ToolCall, ToolSpec, Usage } from '../models/types.js';

export interface AgentRunInput {
  tenantId: string;
  agentId: string;
  /** Chosen by the caller; the workflow id is `<tenantId>/run/<runId>`. */
  runId: string;
  message: string;
  channel?: string;
}

export interface AgentRunResult {
  runId: string;
  status: 'completed';
  reply: string;
  model: string;
  steps: number;
  toolCalls: number;
  usage: Usage;
}

export interface LoadedAgent {
  agent: Agent;
  revision: number;
  /** The granted tools as the model sees them. */
  tools: ToolSpec[];
}

export interface ModelCallInput {
  tenantId: string;
  agentId: string;
  runId: string;
  step: number;
  model: Agent['model'];
  instructions: string;
  messages: ChatMessage[];
  tools: ToolSpec[];
}

export interface ToolCallInput {
  tenantId: string;
  agentId: string;
  runId: string;
  step: number;
  call: ToolCall;
  channel?: string;
  budget: { stepsUsed: number; tokensUsed: number };
}

export interface ToolCallOutcome {
  decision: 'allow' | 'deny';
  ok: boolean;
  /** What the model sees (JSON text). */
  content: string;
}

export interface RunStartInput {
  tenantId: string;
  agentId: string;
  runId: string;
  workflowId: string;
  message: string;
}

export interface RunFinishInput {
  tenantId: string;
  runId: string;
  status: 'completed' | 'failed';
  reply?: string;
  model?: string;
  steps: number;
  toolCalls: number;
  inputTokens: number;
  outputTokens: number;
  errorCode?: string;
}

export type { ChatMessage, ModelTurn, ToolCall, ToolSpec, Usage };
