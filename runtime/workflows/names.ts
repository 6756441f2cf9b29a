/**
 * Names shared by the workflows and their clients (the gateway, schedules, the CLI).
 * This file is part of the workflow bundle, so it has no imports at run time.
 */
import type { ConversationKey } from '../channels/types.js';

export const CONVERSATION_WORKFLOW = 'conversation';

/** The one task queue every tenant's workflows run on (runtime/temporal/names.ts routes starts to it). */
export const RUNTIME_TASK_QUEUE = 'claw-runtime';
/** The per-tenant queues of earlier releases: `claw-tenant-<id>` (drained, never started on). */
export const LEGACY_TASK_QUEUE_PREFIX = 'claw-tenant-';
export const AGENT_RUN_WORKFLOW = 'agentRun';
export const INBOUND_SIGNAL = 'inbound';

/**
 * `<tenant>/conv/<agent>/<channel>/<thread>`: workflow ids start with `<tenantId>/` so
 * every id names its tenant and can be checked against it. Thread ids come from the channel and are escaped so a '/' inside one cannot
 * forge another conversation's id.
 */
export function conversationWorkflowId(key: ConversationKey): string {
  return [key.tenantId, 'conv', key.agentId, key.channel, encodeURIComponent(key.thread)].join('/');
}

/** `<tenant>/run/<runId>`: the workflow id of one agent run (runtime/temporal/names.ts checks the tenant id first). */
export function agentRunWorkflowId(tenantId: string, runId: string): string {
  return `${tenantId}/run/${runId}`;
}

/** FNV-1a, 32 bits: deterministic and dependency-free (workflow code has no node:crypto). */
function fnv1a(text: string, seed: number): number {
  let hash = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/**
 * The run id of the turn a delivery starts: the same delivery always maps to the same run
 * (so to the same `<tenant>/run/<runId>` workflow, which Temporal refuses to start twice).
 * 64 bits from two seeded hashes; ids stay short enough to type in `claw approve <run>`.
 */
export function runIdFor(conversationId: string, deliveryId: string): string {
  const text = `${conversationId}\u0000${deliveryId}`;
  return `r-${fnv1a(text, 0x811c9dc5).toString(16).padStart(8, '0')}${fnv1a(text, 0x1b873593).toString(16).padStart(8, '0')}`;
}
