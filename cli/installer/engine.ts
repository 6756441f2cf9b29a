/**
 * The Engine: what the installer needs from an infrastructure engine, and nothing more.
 * Two implementations stand behind it: `AutomationEngine` (the Pulumi Automation API,
 * the real one) and `FakeEngine` (a file-backed test double). Commands and lifecycle
 * services only ever see this interface, so every command, exit code, renderer and the
 * fleet wave logic is tested against the fake exactly as it runs against Pulumi.
 */
import type { ClawConfig } from '../../core/config/schema.js';
import type { HealthCheck } from './health.js';
import type { StackSpec } from './workspace.js';

/** One operation Pulumi would perform (or performed) on a resource. */
export type StepOp = 'create' | 'update' | 'delete' | 'replace' | 'same' | 'read' | 'refresh';

/** Change counts by operation, e.g. `{ create: 12, same: 3 }`. */
export type ChangeSummary = Partial<Record<StepOp, number>>;

/**
 * Progress events, engine-neutral. The real engine maps Pulumi's EngineEvents onto these;
 * renderers (TTY live view, plain lines, --json) consume them.
 */
export type EngineEvent =
  | { kind: 'start'; operation: OperationKind; stack: string; total?: number }
  | { kind: 'step-start'; urn: string; type: string; op: StepOp }
  | { kind: 'step-done'; urn: string; type: string; op: StepOp }
  | { kind: 'step-failed'; urn: string; type: string; op: StepOp; message: string }
  | { kind: 'diagnostic'; severity: 'info' | 'warning' | 'error'; message: string; urn?: string }
  | { kind: 'summary'; operation: OperationKind; changes: ChangeSummary; durationSeconds: number };

export type OperationKind = 'preview' | 'up' | 'refresh' | 'drift' | 'destroy';

export interface PlannedStep {
  urn: string;
  type: string;
  op: StepOp;
  /** Property names that change (never their values: they may be secret). */
  diff?: string[];
}

export interface PreviewResult {
  changes: ChangeSummary;
  steps: PlannedStep[];
  /**
   * The engine's own plan document when one was requested (Pulumi update plan JSON).
   * Stored inside claw's plan file so `claw up --plan` can apply exactly it.
   */
  enginePlan?: unknown;
}

export interface OperationResult {
  /** `cancelled`: stopped by `cancel()` after in-flight steps finished; state is saved. */
  status: 'succeeded' | 'failed' | 'cancelled';
  changes: ChangeSummary;
  durationSeconds: number;
  /** Steps completed before a cancel or failure (for "N of M done"). */
  completed: number;
  message?: string;
}

export type StackOutputs = Record<string, { value: unknown; secret: boolean }>;

export interface StackSummary {
  /** Whether the stack exists in the backend (false before the first install). */
  exists: boolean;
  resourceCount: number;
  lastUpdate?: { kind: string; result: string; startTime?: string; endTime?: string };
  /** True while another process holds the stack (an update in flight or an unclean stop). */
  locked?: boolean;
}

export interface EngineRunOptions {
  onEvent?: (event: EngineEvent) => void;
}

export interface Engine {
  /** What kind of engine this is, shown to users (`pulumi 3.x (automation api)`, `fake`). */
  readonly description: string;
  /** Whether it provisions a real cloud (then preflight checks the account before an apply). */
  readonly provisionsCloud: boolean;
  preview(options?: EngineRunOptions & { savePlan?: boolean }): Promise<PreviewResult>;
  /** Apply the program; with `enginePlan`, apply exactly that plan (fails if reality moved). */
  up(options?: EngineRunOptions & { enginePlan?: unknown }): Promise<OperationResult>;
  refresh(options?: EngineRunOptions): Promise<OperationResult>;
  /** A preview-only refresh: what differs between the state and the cloud. */
  drift(options?: EngineRunOptions): Promise<PreviewResult>;
  destroy(options?: EngineRunOptions): Promise<OperationResult>;
  /** Stack outputs; secret values are masked unless `reveal` (internal use only: health checks). */
  outputs(options?: { reveal?: boolean }): Promise<StackOutputs>;
  summary(): Promise<StackSummary>;
  /**
   * Ask the running operation to stop: in-flight resource operations finish, the state is
   * written, nothing new starts. The pending promise then resolves with status `cancelled`.
   */
  cancel(): Promise<void>;
}

export function totalChanges(changes: ChangeSummary): number {
  return (changes.create ?? 0) + (changes.update ?? 0) + (changes.delete ?? 0) + (changes.replace ?? 0);
}

export function formatChanges(changes: ChangeSummary): string {
  const order: StepOp[] = ['create', 'update', 'replace', 'delete'];
  const parts = order.filter((op) => (changes[op] ?? 0) > 0).map((op) => `${changes[op]} to ${op}`);
  const unchanged = changes.same ? ` (${changes.same} unchanged)` : '';
  return parts.length ? `${parts.join(', ')}${unchanged}` : `no changes${unchanged}`;
}

/**
 * The engine an install runs on, and how its workloads' health is read: the Pulumi
 * Automation API and the Kubernetes API (with CLAW_CLUSTER, on a cluster someone else runs), or, with CLAW_ENGINE=fake (tests, demos), the
 * in-memory test double. Lifecycle code asks this and never names either; each is loaded on
 * use (the Automation API pulls in the Pulumi SDK, seconds to import).
 */
export async function selectEngine(spec: StackSpec, config: ClawConfig, env: Record<string, string | undefined> = process.env): Promise<{ engine: Engine; health: HealthCheck }> {
  if (env.CLAW_ENGINE === 'fake') {
    const [{ FakeEngine }, { FakeHealth }] = await Promise.all([import('./fake-engine.js'), import('./health.js')]);
    const engine = new FakeEngine(spec, config);
    return { engine, health: new FakeHealth(engine) };
  }
  const [{ AutomationEngine }, { clusterProgram, stackProgram }, { KubeHealth }] = await Promise.all([import('./automation-engine.js'), import('./programs.js'), import('./health.js')]);
  // CLAW_CLUSTER=<file>: the Kubernetes layer on a cluster someone else runs (stacks/cluster.ts); no cloud to provision.
  const engine = env.CLAW_CLUSTER
    ? new AutomationEngine(spec, await clusterProgram(config, env.CLAW_CLUSTER), { provisionsCloud: false })
    : new AutomationEngine(spec, await stackProgram(spec.target, config));
  return { engine, health: new KubeHealth(engine) };
}
