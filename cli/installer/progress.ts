/**
 * Progress for long operations, three ways:
 * - `--json`: every event as one JSON object per line on stdout (`{"type":"engine.step-done",...}`);
 * - a TTY: a live view redrawn in place (resources done/total, operations in flight, elapsed);
 * - anything else (CI logs, pipes): plain lines, one per finished or failed step.
 * Colour only on a TTY and never when NO_COLOR is set (https://no-color.org).
 */
import type { EngineEvent, StepOp } from './engine.js';

export interface ProgressOptions {
  json: boolean;
  tty: boolean;
  color: boolean;
  write: (text: string) => void;
  now?: () => number;
}

/** Colour on a terminal unless NO_COLOR is set (to anything) or TERM=dumb. */
export function wantColor(tty: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  return tty && env.NO_COLOR === undefined && env.TERM !== 'dumb';
}

export function defaultProgressOptions(json: boolean): ProgressOptions {
  const tty = !json && Boolean(process.stderr.isTTY);
  return {
    json,
    tty,
    color: wantColor(tty),
    // Human progress goes to stderr so stdout stays the command's result; JSON goes to stdout.
    write: json ? (t) => process.stdout.write(t) : (t) => process.stderr.write(t),
  };
}

const PAST: Record<StepOp, string> = {
  create: 'created', update: 'updated', delete: 'deleted', replace: 'replaced', same: 'unchanged', read: 'read', refresh: 'refreshed',
};
const ING: Record<StepOp, string> = {
  create: 'creating', update: 'updating', delete: 'deleting', replace: 'replacing', same: 'checking', read: 'reading', refresh: 'refreshing',
};

/** `urn:pulumi:stack::proj::aws:s3/bucketV2:BucketV2::acme-blobs` → `acme-blobs (aws:s3/bucketV2:BucketV2)` */
export function resourceLabel(urn: string, type: string): string {
  const name = urn.split('::').pop() ?? urn;
  return `${name} (${type})`;
}

export function elapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

export class Progress {
  private readonly started: number;
  private total?: number;
  private done = 0;
  private failed = 0;
  private readonly inFlight = new Map<string, { type: string; op: StepOp }>();
  private drawnLines = 0;
  private timer?: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(private readonly options: ProgressOptions, private readonly title = '') {
    this.now = options.now ?? Date.now;
    this.started = this.now();
  }

  private paint(code: string, text: string): string {
    return this.options.color ? `\u001b[${code}m${text}\u001b[0m` : text;
  }

  /** Announce how many steps to expect (from a preview), for `done/total`. */
  expect(total: number): void {
    this.total = total;
  }

  /** A message from the lifecycle (not the engine): JSON event or one human line. */
  note(type: string, message: string, data: Record<string, unknown> = {}): void {
    if (this.options.json) return this.line(JSON.stringify({ type, message, ...data }));
    this.clear();
    this.options.write(`${message}\n`);
    this.draw();
  }

  event(event: EngineEvent): void {
    if (event.kind === 'start' && event.total !== undefined && this.total === undefined) this.total = event.total;
    if (event.kind === 'step-start') this.inFlight.set(event.urn, { type: event.type, op: event.op });
    if (event.kind === 'step-done') {
      this.inFlight.delete(event.urn);
      this.done += 1;
    }
    if (event.kind === 'step-failed') {
      this.inFlight.delete(event.urn);
      this.failed += 1;
    }
    if (this.options.json) return this.line(JSON.stringify(eventJson(event)));
    const stamp = `[${elapsed(this.now() - this.started)}]`;
    let text: string | undefined;
    if (event.kind === 'step-done') text = `${stamp} ${PAST[event.op]} ${resourceLabel(event.urn, event.type)}`;
    if (event.kind === 'step-failed') text = `${stamp} ${this.paint('31', 'failed')} ${resourceLabel(event.urn, event.type)}: ${event.message}`;
    if (event.kind === 'diagnostic' && event.severity !== 'info') text = `${stamp} ${event.severity === 'error' ? this.paint('31', 'error') : this.paint('33', 'warning')}: ${event.message}`;
    if (this.options.tty) {
      this.clear();
      if (text && event.kind !== 'step-done') this.options.write(`${text}\n`);
      this.draw();
    } else if (text) {
      this.options.write(`${text}\n`);
    }
  }

  /** The live view's lines (exported through render() for tests). */
  view(): string[] {
    const count = this.total !== undefined ? `${this.done}/${this.total}` : `${this.done}`;
    const head = `${this.title ? `${this.title}  ` : ''}${count} resources${this.failed ? `, ${this.failed} failed` : ''}  elapsed ${elapsed(this.now() - this.started)}`;
    const ops = [...this.inFlight.entries()].slice(0, 5).map(([urn, s]) => `  ${this.paint('36', ING[s.op])} ${resourceLabel(urn, s.type)}`);
    const more = this.inFlight.size > 5 ? [`  … and ${this.inFlight.size - 5} more`] : [];
    return [head, ...ops, ...more];
  }

  private draw(): void {
    if (!this.options.tty) return;
    const lines = this.view();
    this.options.write(`${lines.join('\n')}\n`);
    this.drawnLines = lines.length;
    this.timer ??= setInterval(() => {
      this.clear();
      this.draw();
    }, 1000).unref();
  }

  private clear(): void {
    if (!this.options.tty || this.drawnLines === 0) return;
    // Up N lines, clear to end of screen.
    this.options.write(`\u001b[${this.drawnLines}A\u001b[0J`);
    this.drawnLines = 0;
  }

  private line(text: string): void {
    this.options.write(`${text}\n`);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
  }
}

/** An engine event as a JSON line: `type` names the event; a resource's type is `resourceType`. */
export function eventJson(event: EngineEvent): Record<string, unknown> {
  const { kind, ...rest } = event as EngineEvent & { type?: string };
  const { type: resourceType, ...others } = rest as { type?: string };
  return { type: `engine.${kind}`, ...(resourceType !== undefined ? { resourceType } : {}), ...others };
}
