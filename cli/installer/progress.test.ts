import { describe, expect, it } from 'vitest';
import { mapPulumiEvent, toChangeSummary } from './automation-engine.js';
import { formatChanges } from './engine.js';
import { Progress, elapsed, resourceLabel, wantColor, type ProgressOptions } from './progress.js';

const URN = 'urn:pulumi:demo::claw::aws:s3/bucketV2:BucketV2::acme-blobs';

function capture(options: Partial<ProgressOptions>): { progress: Progress; text: () => string; clock: { t: number } } {
  const chunks: string[] = [];
  const clock = { t: 1_000_000 };
  const progress = new Progress({ json: false, tty: false, color: false, write: (t) => chunks.push(t), now: () => clock.t, ...options }, 'up demo');
  return { progress, text: () => chunks.join(''), clock };
}

describe('progress rendering', () => {
  it('plain mode: one line per finished or failed step with elapsed time, no escape codes', () => {
    const { progress, text, clock } = capture({});
    progress.event({ kind: 'step-start', urn: URN, type: 'aws:s3/bucketV2:BucketV2', op: 'create' });
    clock.t += 65_000;
    progress.event({ kind: 'step-done', urn: URN, type: 'aws:s3/bucketV2:BucketV2', op: 'create' });
    progress.event({ kind: 'step-failed', urn: URN, type: 'aws:s3/bucketV2:BucketV2', op: 'update', message: 'AccessDenied' });
    progress.event({ kind: 'diagnostic', severity: 'info', message: 'chatter' });
    expect(text()).toBe('[01:05] created acme-blobs (aws:s3/bucketV2:BucketV2)\n[01:05] failed acme-blobs (aws:s3/bucketV2:BucketV2): AccessDenied\n');
    expect(text()).not.toMatch(/\u001b\[/);
  });

  it('json mode: every event is one JSON object per line with a type', () => {
    const { progress, text } = capture({ json: true });
    progress.event({ kind: 'step-done', urn: URN, type: 'aws:s3/bucketV2:BucketV2', op: 'create' });
    progress.note('preview', 'demo: 3 to create', { changes: { create: 3 } });
    const lines = text().trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { type: 'engine.step-done', resourceType: 'aws:s3/bucketV2:BucketV2', urn: URN, op: 'create' },
      { type: 'preview', message: 'demo: 3 to create', changes: { create: 3 } },
    ]);
  });

  it('tty mode: a live view with done/total, operations in flight and elapsed, redrawn in place', () => {
    const { progress, text, clock } = capture({ tty: true, color: false });
    progress.expect(4);
    progress.event({ kind: 'step-start', urn: URN, type: 'aws:s3/bucketV2:BucketV2', op: 'create' });
    progress.event({ kind: 'step-start', urn: 'urn:pulumi:demo::claw::aws:kms/key:Key::acme-key', type: 'aws:kms/key:Key', op: 'create' });
    progress.event({ kind: 'step-done', urn: URN, type: 'aws:s3/bucketV2:BucketV2', op: 'create' });
    clock.t += 12_000;
    expect(progress.view()).toEqual(['up demo  1/4 resources  elapsed 00:12', '  creating acme-key (aws:kms/key:Key)']);
    // each redraw moves the cursor up over the previous view and clears it
    expect(text()).toContain('\u001b[2A\u001b[0J');
    progress.stop();
  });

  it('colour only when allowed: NO_COLOR means color=false and no SGR codes', () => {
    const coloured = capture({ color: true });
    coloured.progress.event({ kind: 'step-failed', urn: URN, type: 't', op: 'create', message: 'x' });
    expect(coloured.text()).toContain('\u001b[31mfailed\u001b[0m');
    expect(wantColor(true, {})).toBe(true);
    expect(wantColor(true, { NO_COLOR: '' })).toBe(false);
    expect(wantColor(true, { NO_COLOR: '1' })).toBe(false);
    expect(wantColor(false, {})).toBe(false);
    const plain = capture({ color: false });
    plain.progress.event({ kind: 'step-failed', urn: URN, type: 't', op: 'create', message: 'x' });
    expect(plain.text()).not.toContain('\u001b[');
  });

  it('labels, elapsed and change summaries read well', () => {
    expect(resourceLabel(URN, 'aws:s3/bucketV2:BucketV2')).toBe('acme-blobs (aws:s3/bucketV2:BucketV2)');
    expect(elapsed(3_725_000)).toBe('62:05');
    expect(formatChanges({ create: 2, update: 1, same: 5 })).toBe('2 to create, 1 to update (5 unchanged)');
    expect(formatChanges({})).toBe('no changes');
  });
});

describe('Pulumi event mapping', () => {
  const meta = (op: string, type = 'aws:kms/key:Key') => ({ op, urn: `urn:pulumi:demo::claw::${type}::k`, type, provider: '' }) as never;
  it('maps resource, diagnostic and summary events; hides the stack resource and no-op steps', () => {
    const base = { sequence: 1, timestamp: 0 };
    expect(mapPulumiEvent({ ...base, resourcePreEvent: { metadata: meta('create') } }, 'up', 'demo')).toEqual({ kind: 'step-start', urn: 'urn:pulumi:demo::claw::aws:kms/key:Key::k', type: 'aws:kms/key:Key', op: 'create' });
    expect(mapPulumiEvent({ ...base, resOutputsEvent: { metadata: meta('create-replacement') } }, 'up', 'demo')).toMatchObject({ kind: 'step-done', op: 'replace' });
    expect(mapPulumiEvent({ ...base, resourcePreEvent: { metadata: meta('same') } }, 'up', 'demo')).toBeUndefined();
    expect(mapPulumiEvent({ ...base, resourcePreEvent: { metadata: meta('create', 'pulumi:pulumi:Stack') } }, 'up', 'demo')).toBeUndefined();
    expect(mapPulumiEvent({ ...base, diagnosticEvent: { message: 'boom\n', color: 'never', severity: 'error' } }, 'up', 'demo')).toEqual({ kind: 'diagnostic', severity: 'error', message: 'boom', urn: undefined });
    expect(mapPulumiEvent({ ...base, summaryEvent: { maybeCorrupt: false, durationSeconds: 3, resourceChanges: { create: 2, same: 1 }, policyPacks: {} } }, 'up', 'demo')).toEqual({ kind: 'summary', operation: 'up', changes: { create: 2, same: 1 }, durationSeconds: 3 });
  });
  it('counts a replace once', () => {
    expect(toChangeSummary({ 'create-replacement': 1, 'delete-replaced': 1, replace: 1, update: 2 })).toEqual({ replace: 1, update: 2 });
  });
});
