/**
 * Signals and queries of the run and conversation workflows. Plain definitions, imported
 * by the workflows and by clients (`claw approve|deny`, tests) alike.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { InboundMessage } from '../channels/types.js';
import type { ApprovalDecision, CancelRequest, PendingApproval } from './types.js';
import { INBOUND_SIGNAL } from './names.js';

/** A human's decision on a parked tool call. */
export const approvalSignal = defineSignal<[ApprovalDecision]>('approval');
/** End the run now, cleanly, with reason RUN_CANCELLED. */
export const cancelSignal = defineSignal<[CancelRequest]>('cancel');
export const pendingApprovalsQuery = defineQuery<PendingApproval[]>('pendingApprovals');

/** A message for a conversation (the gateway's signalWithStart uses the same name). */
export const inboundSignal = defineSignal<[InboundMessage]>(INBOUND_SIGNAL);
