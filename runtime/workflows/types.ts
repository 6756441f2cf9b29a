/** What crosses the agentRun workflow boundary (plain JSON; encrypted by the tenant's codec in transit and at rest). */
import type { Agent } from '../../core/config/schema.js';
import type { ConversationKey, InboundMessage, ReplyTarget } from '../channels/types.js';
import type { ChatMessage, ModelTurn, ToolCall, ToolSpec, Usage } from '../models/types.js';

export interface AgentRunInput {
  tenantId: string;
  agentId: string;
  /** Chosen by the caller; the workflow id is `<tenantId>/run/<runId>`. */
  runId: string;
  message: string;
  channel?: string;
  /** Earlier turns of the conversation, oldest first (the conversation workflow keeps them). */
  history?: ChatMessage[];
  /** Where the reply goes; absent or 'none': the reply is only recorded. */
  replyTo?: ReplyTarget;
  /** How long a tool call waits for a human approval (ms); default 1 hour. */
  approvalTimeoutMs?: number;
}

/** How a run ended: 'completed' answered; the others ended cleanly before an answer. */
export type RunOutcome = 'completed' | 'budget_exceeded' | 'cancelled';
export type BudgetOutcome = 'within' | 'steps' | 'tokens' | 'wall_time';
/** How a run ended as its trace's run.end tells it: a clean end, or 'failed' (a failure the run could not get past). */
export type RunEndStatus = RunOutcome | 'failed';

export interface AgentRunResult {
  runId: string;
  status: RunOutcome;
  /** The answer (completed runs only). */
  reply?: string;
  /** Why a run ended early: BUDGET_STEPS_EXCEEDED, BUDGET_TOKENS_EXCEEDED, BUDGET_WALL_TIME_EXCEEDED, RUN_CANCELLED. */
  reason?: string;
  budget: BudgetOutcome;
  model?: string;
  steps: number;
  toolCalls: number;
  usage: Usage;
  /** Whether the reply went out through the channel (false: recorded only). */
  delivered?: boolean;
}

/** A tool call parked until a human decides (query `pendingApprovals`). */
export interface PendingApproval {
  callId: string;
  /** The run's agent (absent in answers of runs started before it was added). */
  agentId?: string;
  tool: string;
  step: number;
  since: string;
  /** The call's arguments (the query answer is encrypted by the tenant's codec). */
  args?: Record<string, unknown>;
}

export interface ApprovalDecision {
  callId: string;
  /**
   * What the approver was shown: the step and the arguments (as JSON). A decision binds to
   * exactly that call and is used once; one that names another step or other arguments is
   * ignored.
   */
  step?: number;
  argsJson?: string;
  approved: boolean;
  /** Who decided (for the record). */
  by?: string;
  /** Why (a rejection's reason is told to the model; it travels encrypted, never into cleartext trace attributes). */
  reason?: string;
}

export interface CancelRequest {
  reason?: string;
}

/** The conversation workflow's input; also what it continues-as-new with. */
export interface ConversationInput {
  key: ConversationKey;
  /** Messages to handle first (a schedule's message, or ones queued before continue-as-new). */
  initial?: InboundMessage[];
  /** Delivery ids already handled (bounded), carried across continue-as-new for dedup. */
  seen?: string[];
  history?: ChatMessage[];
  /** Turns handled across all executions of this conversation. */
  turns?: number;
  /** Continue-as-new after this many turns in one execution (default 200; tests lower it). */
  turnsPerExecution?: number;
}

export interface ReplyInput {
  tenantId: string;
  agentId: string;
  runId: string;
  step: number;
  replyTo: Exclude<ReplyTarget, { channel: 'none' }>;
  text: string;
}

/** A step only the workflow sees (an approval wait and its decision), for the run's trace. */
export interface StepRecordInput {
  tenantId: string;
  agentId: string;
  runId: string;
  seq: number;
  kind: 'approval';
  name?: string;
  callId?: string;
  status: string;
  detail?: string;
}

export interface LoadedAgent {
  agent: Agent;
  revision: number;
  /** The granted tools as the model sees them. */
  tools: ToolSpec[];
  /** budget.maxWallTime in ms (parsed here, outside the workflow sandbox). */
  maxWallTimeMs: number;
  /** budget.approvalTimeout in ms, if set. */
  approvalTimeoutMs?: number;
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
  /** A human approved this call (it is authorized again; a policy change in between still wins). */
  approved?: boolean;
}

export interface ToolCallOutcome {
  decision: 'allow' | 'deny';
  /** 'approval-required': nothing ran; wait for a human, then call again with `approved`. */
  status: 'done' | 'denied' | 'approval-required';
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
  /** The channel the message came in on (run.start and ask carry it); absent for a direct run. */
  channel?: string;
}

export interface RunFinishInput {
  tenantId: string;
  agentId: string;
  runId: string;
  /** The end's step (the one after the last model or tool call; a reply's too): reply and run.end are traced at it. */
  seq: number;
  /** The run record's status: anything but an answer is recorded as failed, with its reason as errorCode. */
  status: 'completed' | 'failed';
  /** How the run ended, as run.end tells it. */
  outcome: RunEndStatus;
  budget: BudgetOutcome;
  reply?: string;
  model?: string;
  steps: number;
  toolCalls: number;
  inputTokens: number;
  outputTokens: number;
  errorCode?: string;
}

export type { ChatMessage, ModelTurn, ToolCall, ToolSpec, Usage };
