/**
 * The real Engine: the Pulumi Automation API with the stack as an inline program.
 *
 * - One `LocalWorkspace` per install, with its own PULUMI_HOME and work dir (StackSpec).
 * - Backend: `file://` under the state dir by default, `s3://` / `gs://` for teams.
 * - Secrets provider: the customer's KMS key (`awskms://`, `gcpkms://`); passphrase only when asked.
 * - Saved plans are Pulumi update plans (`preview --save-plan`, `up --plan`), which need
 *   PULUMI_EXPERIMENTAL; claw keeps the plan inside its own plan file.
 * - cancel() aborts through the Automation API's AbortSignal, which sends SIGINT to the
 *   Pulumi CLI: Pulumi finishes in-flight resource operations, writes the state and stops.
 *   (Stack.cancel() is not used: it kills the update and may leave pending operations.)
 *
 * Needs the `pulumi` CLI on PATH; see automation-engine.int.test.ts.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  LocalWorkspace,
  StackNotFoundError,
  type EngineEvent as PulumiEvent,
  type OpMap,
  type OpType,
  type Stack,
} from '@pulumi/pulumi/automation/index.js';
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
  StepOp,
} from './engine.js';
import type { StackProgram } from './programs.js';
import type { StackSpec } from './workspace.js';

const OP_MAP: Partial<Record<OpType, StepOp>> = {
  create: 'create',
  update: 'update',
  delete: 'delete',
  replace: 'replace',
  'create-replacement': 'replace',
  'delete-replaced': 'replace',
  same: 'same',
  read: 'read',
  refresh: 'refresh',
};

export function toStepOp(op: OpType): StepOp {
  return OP_MAP[op] ?? 'update';
}

const STACK_ROOT = 'pulumi:pulumi:Stack';

/**
 * Pulumi counts the stack's own root resource in its change summary (a new stack previews
 * "4 to create" for 3 resources). claw reports resources only, as its steps do: the root's
 * one operation comes off the count.
 */
export function withoutStackRoot(changes: ChangeSummary, rootOp: OpType | undefined): ChangeSummary {
  if (!rootOp || rootOp === 'delete-replaced' || rootOp === 'create-replacement') return changes;
  const op = toStepOp(rootOp);
  const out = { ...changes };
  if (out[op] !== undefined) {
    out[op] = out[op]! - 1;
    if (out[op]! <= 0) delete out[op];
  }
  return out;
}

export function toChangeSummary(map: OpMap | undefined): ChangeSummary {
  const out: ChangeSummary = {};
  for (const [op, count] of Object.entries(map ?? {})) {
    if (!count) continue;
    const mapped = toStepOp(op as OpType);
    // create-replacement and delete-replaced are the halves of a replace that is counted as `replace`.
    if (op === 'delete-replaced' || op === 'create-replacement') continue;
    out[mapped] = (out[mapped] ?? 0) + count;
  }
  return out;
}

/** Pulumi's engine event → claw's engine-neutral event (undefined: not shown). */
export function mapPulumiEvent(event: PulumiEvent, operation: OperationKind, stack: string): EngineEvent | undefined {
  if (event.preludeEvent) return { kind: 'start', operation, stack };
  if (event.resourcePreEvent) {
    const m = event.resourcePreEvent.metadata;
    if (m.type === STACK_ROOT || m.op === 'same') return undefined;
    return { kind: 'step-start', urn: m.urn, type: m.type, op: toStepOp(m.op) };
  }
  if (event.resOutputsEvent) {
    const m = event.resOutputsEvent.metadata;
    if (m.type === STACK_ROOT || m.op === 'same') return undefined;
    return { kind: 'step-done', urn: m.urn, type: m.type, op: toStepOp(m.op) };
  }
  if (event.resOpFailedEvent) {
    const m = event.resOpFailedEvent.metadata;
    return { kind: 'step-failed', urn: m.urn, type: m.type, op: toStepOp(m.op), message: `${m.op} failed` };
  }
  if (event.diagnosticEvent) {
    const d = event.diagnosticEvent;
    if (d.ephemeral || d.severity === 'info#err') return undefined;
    const severity = d.severity === 'error' ? 'error' : d.severity === 'warning' ? 'warning' : 'info';
    return { kind: 'diagnostic', severity, message: d.message.trim(), urn: d.urn };
  }
  if (event.summaryEvent) {
    return { kind: 'summary', operation, changes: toChangeSummary(event.summaryEvent.resourceChanges), durationSeconds: event.summaryEvent.durationSeconds };
  }
  return undefined;
}

export class AutomationEngine implements Engine {
  description = 'pulumi (automation api)';
  /** False for a program that makes nothing in a cloud account (stacks/cluster.ts): no preflight. */
  readonly provisionsCloud: boolean;
  private stackPromise?: Promise<Stack>;
  private abort?: AbortController;

  constructor(
    private readonly spec: StackSpec,
    private readonly program: StackProgram,
    options: { provisionsCloud?: boolean } = {},
  ) {
    this.provisionsCloud = options.provisionsCloud ?? true;
    if (!this.provisionsCloud) this.description = 'pulumi (automation api), Kubernetes layer only';
  }

  private workspaceOptions() {
    mkdirSync(this.spec.pulumiHome, { recursive: true });
    mkdirSync(this.spec.workDir, { recursive: true });
    if (this.spec.backendUrl.startsWith('file://')) mkdirSync(new URL(this.spec.backendUrl), { recursive: true });
    return {
      workDir: this.spec.workDir,
      pulumiHome: this.spec.pulumiHome,
      secretsProvider: this.spec.secretsProvider,
      projectSettings: { name: this.spec.project, runtime: 'nodejs' as const, backend: { url: this.spec.backendUrl } },
      envVars: {
        ...this.spec.env,
        PULUMI_BACKEND_URL: this.spec.backendUrl,
        PULUMI_HOME: this.spec.pulumiHome,
        PULUMI_SKIP_UPDATE_CHECK: 'true',
        // Update plans (`--save-plan` / `--plan`) are an experimental Pulumi feature.
        PULUMI_EXPERIMENTAL: 'true',
      },
    };
  }

  /** The stack, created on first use (an install), selected afterwards. */
  private stack(): Promise<Stack> {
    this.stackPromise ??= (async () => {
      const stack = await LocalWorkspace.createOrSelectStack(
        { stackName: this.spec.install, projectName: this.spec.project, program: this.program },
        this.workspaceOptions(),
      );
      const config = Object.fromEntries(Object.entries(this.spec.stackConfig).map(([k, value]) => [k, { value }]));
      await stack.setAllConfig(config);
      const version = stack.workspace.pulumiVersion;
      this.description = `pulumi ${version} (automation api)`;
      return stack;
    })();
    return this.stackPromise;
  }

  /** Runs one Pulumi operation; also says what the stack root itself did (see withoutStackRoot). */
  private async run<T>(operation: OperationKind, options: EngineRunOptions, fn: (stack: Stack, common: { onEvent: (e: PulumiEvent) => void; signal: AbortSignal }) => Promise<T>): Promise<{ result: T; rootOp: OpType | undefined }> {
    const stack = await this.stack();
    this.abort = new AbortController();
    let rootOp: OpType | undefined;
    const onEvent = (e: PulumiEvent) => {
      const pre = e.resourcePreEvent?.metadata;
      if (pre?.type === STACK_ROOT) rootOp = pre.op;
      const mapped = mapPulumiEvent(e, operation, this.spec.install);
      if (mapped?.kind === 'summary') options.onEvent?.({ ...mapped, changes: withoutStackRoot(mapped.changes, rootOp) });
      else if (mapped) options.onEvent?.(mapped);
    };
    try {
      return { result: await fn(stack, { onEvent, signal: this.abort.signal }), rootOp };
    } finally {
      this.abort = undefined;
    }
  }

  async preview(options: EngineRunOptions & { savePlan?: boolean } = {}): Promise<PreviewResult> {
    const steps: PlannedStep[] = [];
    const dir = options.savePlan ? mkdtempSync(join(tmpdir(), 'claw-plan-')) : undefined;
    try {
      const planPath = dir ? join(dir, 'pulumi-plan.json') : undefined;
      const { result, rootOp } = await this.run('preview', options, (stack, common) =>
        stack.preview({
          ...common,
          plan: planPath,
          onEvent: (e) => {
            common.onEvent(e);
            const m = e.resourcePreEvent?.metadata;
            if (m && m.type !== STACK_ROOT) steps.push({ urn: m.urn, type: m.type, op: toStepOp(m.op), diff: m.diffs });
          },
        }),
      );
      const preview: PreviewResult = { changes: withoutStackRoot(toChangeSummary(result.changeSummary), rootOp), steps };
      if (planPath) preview.enginePlan = JSON.parse(readFileSync(planPath, 'utf8'));
      return preview;
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  }

  async up(options: EngineRunOptions & { enginePlan?: unknown } = {}): Promise<OperationResult> {
    const dir = options.enginePlan !== undefined ? mkdtempSync(join(tmpdir(), 'claw-plan-')) : undefined;
    try {
      const planPath = dir ? join(dir, 'pulumi-plan.json') : undefined;
      if (planPath) writeFileSync(planPath, JSON.stringify(options.enginePlan));
      return await this.operation('up', options, (stack, common) => stack.up({ ...common, plan: planPath }));
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  }

  refresh(options: EngineRunOptions = {}): Promise<OperationResult> {
    return this.operation('refresh', options, (stack, common) => stack.refresh(common));
  }

  destroy(options: EngineRunOptions = {}): Promise<OperationResult> {
    return this.operation('destroy', options, (stack, common) => stack.destroy(common));
  }

  async drift(options: EngineRunOptions = {}): Promise<PreviewResult> {
    const steps: PlannedStep[] = [];
    const { result, rootOp } = await this.run('drift', options, (stack, common) =>
      stack.previewRefresh({
        ...common,
        onEvent: (e) => {
          common.onEvent(e);
          const m = e.resourcePreEvent?.metadata;
          if (m && m.type !== STACK_ROOT && m.op !== 'same' && m.op !== 'refresh') steps.push({ urn: m.urn, type: m.type, op: toStepOp(m.op), diff: m.diffs });
          // A refresh step announces itself as 'refresh' and says what it found (delete, update) only
          // in its outputs event. (Found on the real engine: the fake named drifted resources, the real one did not.)
          const o = e.resOutputsEvent?.metadata;
          if (o && o.type !== STACK_ROOT && o.op !== 'same' && o.op !== 'refresh' && !steps.some((st) => st.urn === o.urn)) {
            steps.push({ urn: o.urn, type: o.type, op: toStepOp(o.op), diff: o.diffs });
          }
        },
      }),
    );
    const changes = withoutStackRoot(toChangeSummary(result.changeSummary), rootOp);
    delete changes.same;
    delete changes.refresh;
    return { changes, steps };
  }

  private async operation(
    operation: OperationKind,
    options: EngineRunOptions,
    fn: (stack: Stack, common: { onEvent: (e: PulumiEvent) => void; signal: AbortSignal }) => Promise<{ summary: { resourceChanges?: OpMap; startTime: Date; endTime: Date } }>,
  ): Promise<OperationResult> {
    let completed = 0;
    let cancelled = false;
    const counting: EngineRunOptions = {
      onEvent: (e) => {
        if (e.kind === 'step-done') completed += 1;
        options.onEvent?.(e);
      },
    };
    try {
      const { result, rootOp } = await this.run(operation, counting, async (stack, common) => {
        common.signal.addEventListener('abort', () => (cancelled = true));
        return fn(stack, common);
      });
      const s = result.summary;
      return {
        status: 'succeeded',
        changes: withoutStackRoot(toChangeSummary(s.resourceChanges), rootOp),
        durationSeconds: (s.endTime.getTime() - s.startTime.getTime()) / 1000,
        completed,
      };
    } catch (err) {
      const message = firstLine(err);
      if (cancelled) return { status: 'cancelled', changes: {}, durationSeconds: 0, completed, message };
      if (err instanceof ClawError) throw err;
      if (/conflict|currently locked|update is already in progress/i.test(message)) {
        throw new ClawError('STACK_LOCKED', `stack '${this.spec.install}' is locked by another update`, {
          hint: "wait for it to finish; if it crashed, run 'claw refresh' and retry",
          cause: err,
        });
      }
      // Pulumi's words when an apply strays from a saved plan ("create is not allowed by the plan: ...").
      if (/not allowed by the plan|plan.*(mismatch|does not match|constraint)/i.test(message)) {
        throw new ClawError('PLAN_MISMATCH', 'the saved plan no longer matches the stack: something changed since it was made', {
          hint: "make a new plan with 'claw plan --out plan.json', review it, and apply that",
          cause: err,
        });
      }
      return { status: 'failed', changes: {}, durationSeconds: 0, completed, message };
    }
  }

  async outputs(options: { reveal?: boolean } = {}): Promise<StackOutputs> {
    const stack = await this.stack();
    const outputs = await stack.outputs();
    return Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, { value: v.secret && !options.reveal ? '[secret]' : v.value, secret: v.secret }]));
  }

  async summary(): Promise<StackSummary> {
    let stack: Stack;
    try {
      stack = await LocalWorkspace.selectStack(
        { stackName: this.spec.install, projectName: this.spec.project, program: this.program },
        this.workspaceOptions(),
      );
    } catch (err) {
      if (err instanceof StackNotFoundError) return { exists: false, resourceCount: 0 };
      throw err;
    }
    const [info, deployment] = await Promise.all([stack.info(), stack.exportStack()]);
    const resources = ((deployment.deployment as { resources?: { type: string }[] })?.resources ?? []).filter(
      (r) => r.type !== STACK_ROOT && !r.type.startsWith('pulumi:providers:'),
    );
    return {
      exists: true,
      resourceCount: resources.length,
      lastUpdate: info ? { kind: info.kind, result: info.result, startTime: info.startTime?.toISOString(), endTime: info.endTime?.toISOString() } : undefined,
      locked: info?.result === 'in-progress',
    };
  }

  async cancel(): Promise<void> {
    this.abort?.abort();
  }
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  // Pulumi's CommandError message carries the whole stderr; keep the part that says what failed.
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /^error:/i.test(l)) ?? lines[0] ?? 'unknown error';
}
