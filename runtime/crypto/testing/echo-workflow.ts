// A tiny workflow for the codec tests: its argument, an activity's arguments and result,
// and its own result all cross the Temporal server as payloads.
import { proxyActivities } from '@temporalio/workflow';

export interface EchoActivities {
  shout(text: string, secretArg: string): Promise<string>;
}

const { shout } = proxyActivities<EchoActivities>({ startToCloseTimeout: '10s' });

export async function echoWorkflow(input: { message: string; toolArgs: string }): Promise<string> {
  return `reply: ${await shout(input.message, input.toolArgs)}`;
}
