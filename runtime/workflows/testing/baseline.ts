/**
 * The baseline of bench/step.bench.ts: a bare workflow that does `count` sequential no-op
 * activity round trips, nothing else. Bundled on its own (not part of the runtime's bundle).
 */
import { proxyActivities } from '@temporalio/workflow';

export interface BaselineActivities {
  noop(payload: unknown): Promise<unknown>;
}

const { noop } = proxyActivities<BaselineActivities>({ startToCloseTimeout: '30s' });

export async function bareActivities(count: number, payload: unknown): Promise<number> {
  for (let i = 0; i < count; i++) await noop(payload);
  return count;
}
