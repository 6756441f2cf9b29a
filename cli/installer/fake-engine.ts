/**
 * A file-backed test double for the Engine. It declares a small, deterministic resource set
 * from claw.yaml (network, cluster, database, one key + bucket per tenant, the runtime at
 * `versions.runtime`), keeps its "cloud" and its state in one JSON file under the install
 * dir, and applies steps one at a time so cancellation, partial failure and resumption
 * behave as they do with Pulumi: completed steps are saved, the in-flight step finishes,
 * the lock is released.
 *
 * Selected with CLAW_ENGINE=fake (tests, demos of the CLI without a cloud); every command
 * then says `engine: fake` in its output. It is not a cloud and never pretends to be one.
 *
 * Faults for tests live in the same file (`faults`), so a child process sees them too.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClawConfig } from '../../core/config/schema.js';
import { ClawError } from '../../core/errors.js';
import type {
  ChangeSummary,
  Engine,
  EngineEvent,
  EngineRunOptions,
  OperationKind,
  OperationResult,
  PlannedStep,
  PreviewResult,
  StackOutputs,
  StackSummary,
} from './engine.js';
import type { StackSpec } from './workspace.js';

export interface FakeResource {
  type: string;
  inputs: Record<string, unknown>;
}

export interface FakeFaults {
  /** Milliseconds each applied step takes (lets tests interrupt an apply). */
  stepMs?: number;
  /** `up` fails at the runtime step when the desired runtime version is one of these. */
  failVersions?: string[];
  /** Runtime versions whose workloads never become healthy. */
  unhealthyVersions?: string[];
  /** URNs whose cloud copy differs from the state (drift). */
  drifted?: string[];
}

export interface FakeState {
  resources: Record<string, FakeResource>;
  lock?: { pid: number; operation: OperationKind };
  lastUpdate?: { kind: string; result: string; startTime: string; endTime?: string };
  faults?: FakeFaults;
}

const urnOf = (spec: Pick<StackSpec, 'install' | 'project'>, type: string, name: string) =>
  `urn:pulumi:${spec.install}::${spec.project}::${type}::${name}`;

/** The resources the fake "program" declares for a config. */
export function fakeDesired(config: ClawConfig, spec: Pick<StackSpec, 'install' | 'project' | 'target'>): Record<string, FakeResource> {
  const t = spec.target;
  const out: Record<string, FakeResource> = {};
  const add = (type: string, name: string, inputs: Record<string, unknown>) => {
    out[urnOf(spec, type, name)] = { type, inputs };
  };
  add(`claw:${t}:Network`, `${config.name}-net`, { cidr: config.aws?.vpcCidr ?? '10.40.0.0/16' });
  add(`claw:${t}:Cluster`, `${config.name}-cluster`, { sandboxRuntime: 'gvisor', gvisor: config.versions.gvisor });
  add(`claw:${t}:Database`, `${config.name}-db`, { encrypted: true });
  for (const tenant of config.tenants) {
    // onRemove shows on the key as the real stacks tag it (a visible update when it changes).
    add(`claw:${t}:TenantKey`, `${tenant.id}-key`, { tenant: tenant.id, key: tenant.key.type, ...(tenant.onRemove === 'shred' ? { onRemove: 'shred' } : {}) });
    add(`claw:${t}:TenantBucket`, `${tenant.id}-bucket`, { tenant: tenant.id, bucket: tenant.bucket.type, encryption: 'kms' });
  }
  add('claw:k8s:Temporal', 'temporal', { chart: config.versions.temporalChart, server: config.versions.temporalServer });
  add('claw:k8s:Runtime', 'runtime', { version: config.versions.runtime, tenants: config.tenants.map((x) => x.id) });
  return out;
}

const same = (a: FakeResource, b: FakeResource) => JSON.stringify(a) === JSON.stringify(b);

export class FakeEngine implements Engine {
  readonly description = 'fake (test double, no cloud)';
  readonly provisionsCloud = false;
  private readonly file: string;
  private cancelRequested = false;

  constructor(
    private readonly spec: StackSpec,
    private readonly config: ClawConfig,
  ) {
    this.file = join(spec.installDir, 'fake-engine.json');
  }

  static stateFile(spec: Pick<StackSpec, 'installDir'>): string {
    return join(spec.installDir, 'fake-engine.json');
  }

  /** Read the raw state (tests use this to check consistency). */
  read(): FakeState {
    if (!existsSync(this.file)) return { resources: {} };
    return JSON.parse(readFileSync(this.file, 'utf8')) as FakeState;
  }

  private write(state: FakeState): void {
    mkdirSync(dirname(this.file), { recursive: true });
    // Write-then-rename: a kill mid-write never leaves a torn state file.
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
    renameSync(tmp, this.file);
  }

  private steps(state: FakeState, desired: Record<string, FakeResource>): PlannedStep[] {
    const steps: PlannedStep[] = [];
    for (const [urn, res] of Object.entries(desired)) {
      const current = state.resources[urn];
      if (!current) steps.push({ urn, type: res.type, op: 'create' });
      else if (!same(current, res)) {
        const diff = Object.keys(res.inputs).filter((k) => JSON.stringify(res.inputs[k]) !== JSON.stringify(current.inputs[k]));
        steps.push({ urn, type: res.type, op: 'update', diff });
      } else steps.push({ urn, type: res.type, op: 'same' });
    }
    for (const [urn, res] of Object.entries(state.resources)) {
      if (!desired[urn]) steps.push({ urn, type: res.type, op: 'delete' });
    }
    return steps;
  }

  private summarize(steps: PlannedStep[]): ChangeSummary {
    const changes: ChangeSummary = {};
    for (const s of steps) changes[s.op] = (changes[s.op] ?? 0) + 1;
    return changes;
  }

  private checkLock(state: FakeState): void {
    if (state.lock) {
      throw new ClawError('STACK_LOCKED', `stack '${this.spec.install}' is locked by an unfinished ${state.lock.operation} (pid ${state.lock.pid})`, {
        hint: "if that process is gone, run 'claw refresh' and then retry",
      });
    }
  }

  async preview(options: EngineRunOptions & { savePlan?: boolean } = {}): Promise<PreviewResult> {
    const state = this.read();
    const steps = this.steps(state, fakeDesired(this.config, this.spec));
    const changes = this.summarize(steps);
    emit(options, { kind: 'start', operation: 'preview', stack: this.spec.install, total: steps.length });
    emit(options, { kind: 'summary', operation: 'preview', changes, durationSeconds: 0 });
    const result: PreviewResult = { changes, steps };
    if (options.savePlan) result.enginePlan = { fake: true, steps: steps.filter((s) => s.op !== 'same').map((s) => `${s.op} ${s.urn}`) };
    return result;
  }

  async up(options: EngineRunOptions & { enginePlan?: unknown } = {}): Promise<OperationResult> {
    return this.apply('up', fakeDesired(this.config, this.spec), options);
  }

  async destroy(options: EngineRunOptions = {}): Promise<OperationResult> {
    return this.apply('destroy', {}, options);
  }

  private async apply(operation: 'up' | 'destroy', desired: Record<string, FakeResource>, options: EngineRunOptions & { enginePlan?: unknown }): Promise<OperationResult> {
    const started = Date.now();
    let state = this.read();
    this.checkLock(state);
    const steps = this.steps(state, desired).filter((s) => s.op !== 'same');
    if (options.enginePlan !== undefined) {
      const planned = (options.enginePlan as { steps?: string[] }).steps ?? [];
      const actual = steps.map((s) => `${s.op} ${s.urn}`);
      if (JSON.stringify(planned) !== JSON.stringify(actual)) {
        throw new ClawError('PLAN_MISMATCH', 'the saved plan no longer matches the stack: something changed since it was made', {
          hint: "make a new plan with 'claw plan --out plan.json', review it, and apply that",
          details: { planned: planned.length, now: actual.length },
        });
      }
    }
    this.cancelRequested = false;
    state.lock = { pid: process.pid, operation };
    state.lastUpdate = { kind: operation === 'up' ? 'update' : 'destroy', result: 'in-progress', startTime: new Date(started).toISOString() };
    this.write(state);
    emit(options, { kind: 'start', operation, stack: this.spec.install, total: steps.length });
    const changes: ChangeSummary = {};
    let completed = 0;
    let status: OperationResult['status'] = 'succeeded';
    let message: string | undefined;
    for (const step of steps) {
      if (this.cancelRequested) {
        status = 'cancelled';
        break;
      }
      emit(options, { kind: 'step-start', urn: step.urn, type: step.type, op: step.op });
      await sleep(state.faults?.stepMs ?? 0);
      const version = desired[step.urn]?.inputs.version;
      if (step.type === 'claw:k8s:Runtime' && typeof version === 'string' && state.faults?.failVersions?.includes(version)) {
        message = `runtime ${version}: deployment failed (fake fault)`;
        emit(options, { kind: 'step-failed', urn: step.urn, type: step.type, op: step.op, message });
        status = 'failed';
        break;
      }
      state = this.read(); // faults may have been edited by a test meanwhile
      if (step.op === 'delete') delete state.resources[step.urn];
      else state.resources[step.urn] = desired[step.urn]!;
      state.lock = { pid: process.pid, operation };
      this.write(state);
      changes[step.op] = (changes[step.op] ?? 0) + 1;
      completed += 1;
      emit(options, { kind: 'step-done', urn: step.urn, type: step.type, op: step.op });
    }
    const durationSeconds = (Date.now() - started) / 1000;
    state = this.read();
    delete state.lock;
    state.lastUpdate = { ...state.lastUpdate!, result: status === 'succeeded' ? 'succeeded' : 'failed', endTime: new Date().toISOString() };
    this.write(state);
    emit(options, { kind: 'summary', operation, changes, durationSeconds });
    return { status, changes, durationSeconds, completed, message };
  }

  async refresh(options: EngineRunOptions = {}): Promise<OperationResult> {
    const state = this.read();
    const drifted = state.faults?.drifted ?? [];
    emit(options, { kind: 'start', operation: 'refresh', stack: this.spec.install, total: Object.keys(state.resources).length });
    // A refresh adopts the cloud's copy: the drift is now in the state, and clears.
    const changes: ChangeSummary = { update: drifted.filter((u) => state.resources[u]).length };
    for (const urn of drifted) if (state.resources[urn]) state.resources[urn]!.inputs = { ...state.resources[urn]!.inputs, driftedInCloud: true };
    delete state.lock; // refresh is also how a crashed run's lock is cleared after checking
    state.faults = { ...state.faults, drifted: [] };
    this.write(state);
    emit(options, { kind: 'summary', operation: 'refresh', changes, durationSeconds: 0 });
    return { status: 'succeeded', changes, durationSeconds: 0, completed: changes.update ?? 0 };
  }

  async drift(options: EngineRunOptions = {}): Promise<PreviewResult> {
    const state = this.read();
    const steps: PlannedStep[] = (state.faults?.drifted ?? [])
      .filter((urn) => state.resources[urn])
      .map((urn) => ({ urn, type: state.resources[urn]!.type, op: 'update' as const, diff: ['(changed outside claw)'] }));
    const changes: ChangeSummary = steps.length ? { update: steps.length } : {};
    emit(options, { kind: 'summary', operation: 'drift', changes, durationSeconds: 0 });
    return { changes, steps };
  }

  async outputs(): Promise<StackOutputs> {
    const state = this.read();
    const runtime = Object.values(state.resources).find((r) => r.type === 'claw:k8s:Runtime');
    if (!runtime) return {};
    return {
      runtimeVersion: { value: runtime.inputs.version, secret: false },
      tenants: { value: runtime.inputs.tenants, secret: false },
      gatewayUrl: { value: `https://${this.spec.install}.claw.example.invalid`, secret: false },
      kubeconfig: { value: '[secret]', secret: true },
    };
  }

  async summary(): Promise<StackSummary> {
    const state = this.read();
    const count = Object.keys(state.resources).length;
    return { exists: count > 0 || state.lastUpdate !== undefined, resourceCount: count, lastUpdate: state.lastUpdate, locked: state.lock !== undefined };
  }

  async cancel(): Promise<void> {
    this.cancelRequested = true;
  }

  /** Whether the runtime at its current version is healthy (see FakeFaults.unhealthyVersions). */
  healthy(): boolean {
    const state = this.read();
    const runtime = Object.values(state.resources).find((r) => r.type === 'claw:k8s:Runtime');
    return runtime !== undefined && !(state.faults?.unhealthyVersions ?? []).includes(String(runtime.inputs.version));
  }
}

function emit(options: EngineRunOptions, event: EngineEvent): void {
  options.onEvent?.(event);
}

/** Seed faults into an install's fake-engine file (tests). */
export function setFakeFaults(spec: Pick<StackSpec, 'installDir'>, faults: FakeFaults): void {
  const file = FakeEngine.stateFile(spec);
  const state: FakeState = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as FakeState) : { resources: {} };
  state.faults = { ...state.faults, ...faults };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`);
}
