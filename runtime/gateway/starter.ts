/**
 * The gateway's one side effect: hand an inbound event to its conversation workflow with
 * `signalWithStart`. The promise resolves only once the Temporal server has durably
 * recorded the signal (starting the workflow if it was not running), which is what lets
 * the gateway answer 2xx.
 */
import type { Client } from '@temporalio/client';
import { CONVERSATION_WORKFLOW, INBOUND_SIGNAL, conversationWorkflowId, type InboundEvent } from '../channels/types.js';
import { routeFor } from '../temporal/names.js';

export interface Delivery {
  workflowId: string;
}

export interface ConversationStarter {
  /** Durably deliver `event`, or reject (by `deadline` at the latest). */
  deliver(event: InboundEvent, deadline: Date): Promise<Delivery>;
}

/** What the conversation workflow is started with (its first argument). */
export interface ConversationStartArgs {
  key: InboundEvent['key'];
}

/** The real starter: one `signalWithStart` on the tenant's own client (its codec encrypts the message). */
export function temporalStarter(clientFor: (tenantId: string) => Client | Promise<Client>): ConversationStarter {
  return {
    async deliver(event, deadline) {
      const client = await clientFor(event.key.tenantId);
      const workflowId = conversationWorkflowId(event.key);
      const args: [ConversationStartArgs] = [{ key: event.key }];
      await client.connection.withDeadline(deadline, () =>
        client.workflow.signalWithStart(CONVERSATION_WORKFLOW, {
          workflowId,
          ...routeFor(event.key.tenantId),
          args,
          signal: INBOUND_SIGNAL,
          signalArgs: [event.message],
        }),
      );
      return { workflowId };
    },
  };
}
