/**
 * `claw runs show <run> --html`: the same timeline as a self-contained page (inline CSS,
 * no scripts, no external requests), for people who would rather look than read.
 * Every value from the trace is HTML-escaped: trace content is untrusted text.
 */
import type { RunTimeline, TimelineStep } from './runs.js';
import { describeStep, stepLabel } from './timeline.js';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const TONE: Record<TimelineStep['kind'], string> = {
  'run.start': 'neutral',
  ask: 'user',
  'model.call': 'model',
  'tool.call': 'tool',
  approval: 'approval',
  'tool.result': 'tool',
  reply: 'user',
  'run.end': 'neutral',
  error: 'bad',
};

function badge(step: TimelineStep): string {
  if (step.kind === 'tool.call' && step.decision) return `<span class="badge ${step.decision === 'allow' ? 'ok' : 'bad'}">${escapeHtml(step.decision)}</span>`;
  if (step.kind === 'approval' && step.approval) {
    const tone = step.approval === 'approved' ? 'ok' : step.approval === 'waiting' ? 'warn' : 'bad';
    return `<span class="badge ${tone}">${escapeHtml(step.approval)}</span>`;
  }
  if ((step.kind === 'model.call' || step.kind === 'tool.result') && step.status === 'error') return '<span class="badge bad">failed</span>';
  if (step.kind === 'model.call' && step.attempt !== null && step.attempt > 1) return `<span class="badge warn">retry ${step.attempt}</span>`;
  if (step.kind === 'tool.result' && step.sandbox && step.sandbox !== 'none') return `<span class="badge info">sandbox: ${escapeHtml(step.sandbox)}</span>`;
  return '';
}

function content(timeline: RunTimeline, step: TimelineStep): string {
  if (step.contentBytes === null) return '';
  if (!timeline.decrypted) return `<div class="sealed">content sealed under the tenant key (${step.contentBytes} bytes)</div>`;
  const text = typeof step.content === 'string' ? step.content : JSON.stringify(step.content, null, 2);
  return `<pre class="content">${escapeHtml(text ?? '')}</pre>`;
}

function bar(timeline: RunTimeline, step: TimelineStep): string {
  const total = Math.max(timeline.durationMs, 1);
  const left = (100 * step.offsetMs) / total;
  const width = step.durationMs ? Math.max(0.5, (100 * step.durationMs) / total) : 0.5;
  return `<div class="track"><div class="bar ${TONE[step.kind]}" style="margin-left:${left.toFixed(2)}%;width:${Math.min(width, 100 - left).toFixed(2)}%"></div></div>`;
}

export function renderTimelineHtml(timeline: RunTimeline): string {
  const t = timeline.totals;
  const rows = timeline.steps
    .map(
      (step) => `
    <li class="step ${TONE[step.kind]}">
      <div class="when">+${(step.offsetMs / 1000).toFixed(3)}s</div>
      <div class="body">
        <div class="head"><span class="kind">${escapeHtml(stepLabel(step))}</span> ${badge(step)} <span class="desc">${escapeHtml(describeStep(step))}</span></div>
        ${bar(timeline, step)}
        ${content(timeline, step)}
      </div>
    </li>`,
    )
    .join('');
  const summary = [
    ['status', timeline.status],
    ['agent', timeline.agentId],
    ['started', timeline.startedAt],
    ['duration', `${(timeline.durationMs / 1000).toFixed(2)} s`],
    ['tokens', `${t.inputTokens} in / ${t.outputTokens} out`],
    ['model calls', `${t.modelCalls} (${t.retries} retried)`],
    ['tool calls', `${t.toolCalls} (${t.denied} denied, ${t.approvals} approvals)`],
    ['budget', timeline.budgetOutcome ?? '—'],
  ]
    .map(([k, v]) => `<div><dt>${escapeHtml(k!)}</dt><dd>${escapeHtml(v!)}</dd></div>`)
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>run ${escapeHtml(timeline.runId)} · ${escapeHtml(timeline.tenantId)}</title>
<style>
  :root { --fg:#1d2330; --muted:#6b7385; --line:#e3e6ee; --bg:#f7f8fb; --ok:#1f8a4c; --bad:#c23b3b; --warn:#b7791f; --info:#2f6fb5; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
  header { padding: 20px 28px 12px; background: #fff; border-bottom: 1px solid var(--line); }
  h1 { margin: 0 0 4px; font-size: 18px; }
  h1 small { color: var(--muted); font-weight: normal; }
  dl { display: flex; flex-wrap: wrap; gap: 6px 28px; margin: 10px 0 0; }
  dt { color: var(--muted); font-size: 12px; } dd { margin: 0; font-weight: 600; }
  ol { list-style: none; margin: 0; padding: 16px 28px 40px; }
  .step { display: flex; gap: 14px; padding: 10px 0; border-bottom: 1px solid var(--line); }
  .when { width: 72px; flex: none; color: var(--muted); font: 12px/1.9 ui-monospace, monospace; text-align: right; }
  .body { flex: 1; min-width: 0; border-left: 3px solid var(--line); padding-left: 12px; }
  .step.user .body { border-color: #7b61c9; } .step.model .body { border-color: var(--info); }
  .step.tool .body { border-color: #1b998b; } .step.approval .body { border-color: var(--warn); } .step.bad .body { border-color: var(--bad); }
  .kind { font-weight: 700; text-transform: uppercase; font-size: 11px; letter-spacing: .04em; }
  .desc { color: #39414f; }
  .badge { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 11px; font-weight: 700; color: #fff; }
  .badge.ok { background: var(--ok); } .badge.bad { background: var(--bad); } .badge.warn { background: var(--warn); } .badge.info { background: var(--info); }
  .track { height: 4px; background: var(--line); border-radius: 2px; margin: 6px 0 4px; overflow: hidden; }
  .bar { height: 4px; background: var(--muted); } .bar.model { background: var(--info); } .bar.tool { background: #1b998b; } .bar.user { background: #7b61c9; } .bar.approval { background: var(--warn); }
  pre.content { margin: 6px 0 0; padding: 8px 10px; background: #fff; border: 1px solid var(--line); border-radius: 4px; white-space: pre-wrap; word-break: break-word; font-size: 12px; }
  .sealed { color: var(--muted); font-size: 12px; font-style: italic; }
  footer { padding: 0 28px 24px; color: var(--muted); font-size: 12px; }
</style>
</head>
<body>
<header>
  <h1>Run ${escapeHtml(timeline.runId)} <small>tenant ${escapeHtml(timeline.tenantId)}</small></h1>
  <dl>${summary}</dl>
</header>
<ol>${rows}
</ol>
<footer>${timeline.decrypted ? 'Content decrypted with the tenant key for this page: handle it as the tenant\'s data.' : 'Content is sealed under the tenant key; render with --decrypt to include it.'}</footer>
</body>
</html>
`;
}
