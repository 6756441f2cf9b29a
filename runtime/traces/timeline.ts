/**
 * Text renderings for the terminal: a run as a timeline (ask → model calls → tool calls
 * with their decisions → results → reply) and plain tables (runs list, trace queries).
 */
import type { RunSummary, RunTimeline, TimelineStep } from './runs.js';

const LABEL: Record<TimelineStep['kind'], string> = {
  'run.start': 'start',
  ask: 'ask',
  'model.call': 'model',
  'tool.call': 'tool call',
  approval: 'approval',
  'tool.result': 'result',
  reply: 'reply',
  'run.end': 'end',
  error: 'error',
};

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(3)}s`;
}

function duration(ms: number | null): string {
  if (ms === null) return '';
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

/** Content for one line: short, one line, JSON for structures. */
export function contentPreview(content: unknown, max = 100): string {
  let text: string;
  if (content && typeof content === 'object' && 'text' in content && typeof (content as { text: unknown }).text === 'string' && Object.keys(content).length === 1) {
    text = (content as { text: string }).text;
  } else text = JSON.stringify(content) ?? '';
  text = text.replace(/\s+/g, ' ');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** What a step says, without its time or content: shared by the text and HTML renderers. */
export function describeStep(step: TimelineStep): string {
  const parts: string[] = [];
  switch (step.kind) {
    case 'run.start':
      if (step.channel) parts.push(`via ${step.channel}`);
      break;
    case 'ask':
      if (step.channel) parts.push(`from ${step.channel}`);
      break;
    case 'model.call':
      parts.push(`${step.provider ?? '?'}/${step.model ?? '?'}`);
      if (step.attempt !== null) parts.push(`attempt ${step.attempt}`);
      if (step.status === 'error') {
        const why = [step.httpStatus !== null ? `HTTP ${step.httpStatus}` : '', step.retryAfterMs !== null ? `retry after ${step.retryAfterMs} ms` : '', step.retryable === false ? 'not retried' : '']
          .filter(Boolean)
          .join(', ');
        parts.push(`FAILED ${step.errorType ?? ''}`.trim() + (why ? ` (${why})` : ''));
      } else parts.push(`tokens ${step.inputTokens ?? 0} in / ${step.outputTokens ?? 0} out`);
      parts.push(duration(step.durationMs));
      if (step.finishReasons.length) parts.push(`finish ${step.finishReasons.join(',')}`);
      break;
    case 'tool.call':
      parts.push(`${step.tool} [${step.callId}]`, (step.decision ?? '?').toUpperCase());
      if (step.policies.length) parts.push(`policy ${step.policies.join(', ')}`);
      if (step.reasons.length) parts.push(`"${step.reasons.join('; ')}"`);
      if (step.requiresApproval) parts.push(step.approval === 'approved' ? 'approved, authorized again' : 'needs approval');
      if (step.attempt !== null && step.attempt > 1) parts.push(`attempt ${step.attempt}`);
      if (step.shadowDecision) parts.push(`shadow ${step.shadowDecision.toUpperCase()}${step.shadowPolicies.length ? ` (${step.shadowPolicies.join(', ')})` : ''}`);
      if (step.authzErrors.length) parts.push(`errors: ${step.authzErrors.join('; ')}`);
      break;
    case 'approval':
      parts.push(`${step.tool} [${step.callId}]`, (step.approval ?? '?').toUpperCase());
      if (step.approver) parts.push(`by ${step.approver}`);
      break;
    case 'tool.result':
      parts.push(`${step.tool} [${step.callId}]`, step.status === 'ok' ? 'ok' : `FAILED ${step.errorType ?? ''}`.trim());
      if (step.sandbox) parts.push(`sandbox ${step.sandbox}`);
      if (step.attempt !== null && step.attempt > 1) parts.push(`attempt ${step.attempt}`);
      parts.push(duration(step.durationMs));
      break;
    case 'reply':
      if (step.channel) parts.push(`to ${step.channel}`);
      break;
    case 'run.end':
      parts.push(step.status ?? '?');
      if (step.errorType) parts.push(step.errorType);
      if (step.budgetOutcome) parts.push(`budget ${step.budgetOutcome}`);
      break;
    case 'error':
      parts.push(step.errorType ?? 'error');
      break;
  }
  return parts.filter(Boolean).join(' · ');
}

export function stepLabel(step: TimelineStep): string {
  return LABEL[step.kind];
}

export function renderTimeline(timeline: RunTimeline): string {
  const t = timeline.totals;
  const lines = [
    `run ${timeline.runId} · tenant ${timeline.tenantId} · agent ${timeline.agentId} · ${timeline.status} · ${duration(timeline.durationMs)}`,
    `started ${timeline.startedAt} · ${t.modelCalls} model call(s), ${t.retries} retr${t.retries === 1 ? 'y' : 'ies'} · tokens ${t.inputTokens} in / ${t.outputTokens} out · ${t.toolCalls} tool call(s), ${t.denied} denied, ${t.approvals} approval(s)`,
    '',
  ];
  for (const step of timeline.steps) {
    const head = `  +${seconds(step.offsetMs).padStart(8)}  #${String(step.seq).padEnd(3)} ${stepLabel(step).padEnd(9)}  ${describeStep(step)}`;
    lines.push(head.trimEnd());
    if (step.contentBytes !== null) {
      const body = timeline.decrypted ? contentPreview(step.content) : `(sealed, ${step.contentBytes} bytes; --decrypt to read)`;
      lines.push(`  ${' '.repeat(10)}       ${body}`);
    }
  }
  return lines.join('\n');
}

/** Columns padded to their widest cell; cells are one line. */
export function formatTable(columns: string[], rows: Array<Record<string, unknown>>, cell: (value: unknown) => string = defaultCell): string {
  const cells = rows.map((row) => columns.map((c) => cell(row[c]).replace(/\s+/g, ' ')));
  const widths = columns.map((c, i) => Math.min(80, Math.max(c.length, ...cells.map((r) => r[i]!.length))));
  const fit = (text: string, width: number) => (text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width));
  const line = (values: string[]) => values.map((v, i) => fit(v, widths[i]!)).join('  ').trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

function defaultCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Uint8Array) return `(${value.length} bytes)`;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function renderRunList(runs: RunSummary[]): string {
  if (runs.length === 0) return 'no runs';
  return formatTable(
    ['run', 'agent', 'status', 'started', 'events', 'tokens in/out', 'tools', 'denied'],
    runs.map((r) => ({
      run: r.runId,
      agent: r.agentId,
      status: r.status,
      started: r.startedAt,
      events: r.events,
      'tokens in/out': `${r.inputTokens}/${r.outputTokens}`,
      tools: r.toolCalls,
      denied: r.denied,
    })),
  );
}
