/**
 * The tenant payload codec's cost per Temporal payload of about 1 KiB (encode + decode,
 * as a worker does for an activity argument it sends and reads back), and how many
 * root-key calls 10,000 payloads cost.
 *
 * Measured path: TenantPayloadCodec.encode([payload]) → decode(...) with data keys cached
 * as in production (root keys in a local keyring file). Baseline, same run, same
 * payloads: the codec's own serialization alone (Payload protobuf encode + decode, no
 * encryption), so the gap is the cost of encryption. Root-key calls are counted by
 * wrapping the backend's keyrings: once in the encoding process, and once for a cold
 * decoder (another process, e.g. the codec server) reading all of its payloads.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Payload } from '@temporalio/common';
import proto from '@temporalio/proto';
import { DEFAULT_CACHE, EnvelopeKeyring, LocalKeyringBackend } from '../runtime/crypto/index.js';
import { tenantPayloadCodec } from '../runtime/crypto/codec.js';
import { countingBackend } from '../runtime/crypto/testing/counting-backend.js';
import { percentile, report, sample } from './lib.js';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 20_000);
const PAYLOADS = 10_000;
const { Payload: PayloadProto } = proto.temporal.api.common.v1;

const stateDir = mkdtempSync(join(tmpdir(), 'claw-bench-codec-'));
try {
  const counted = countingBackend(new LocalKeyringBackend(stateDir));
  const keyring = new EnvelopeKeyring(counted.backend);
  await keyring.createTenantKey('bench');
  const codec = tenantPayloadCodec(await keyring.forTenant('bench'));

  // About 1 KiB of JSON, as the default data converter would produce for an activity argument.
  const json = JSON.stringify({ runId: 'run-0001', step: 7, tool: 'crm.lookup', args: { query: 'x'.repeat(900), limit: 10 } });
  const payload: Payload = { metadata: { encoding: new TextEncoder().encode('json/plain') }, data: new TextEncoder().encode(json) };
  const size = PayloadProto.encode(payload).finish().length;

  const codecTimes = await sample(async () => codec.decode(await codec.encode([payload])), ITERATIONS, 1_000);
  const plainTimes = await sample(() => PayloadProto.decode(PayloadProto.encode(payload).finish()), ITERATIONS, 1_000);
  const us = (ms: number) => ms * 1000;

  // Root-key calls for 10,000 payloads in a fresh process: encode all, decode all.
  const before = { ...counted.calls };
  const fresh = tenantPayloadCodec(await new EnvelopeKeyring(counted.backend).forTenant('bench'));
  const encoded: Payload[] = [];
  for (let i = 0; i < PAYLOADS; i++) encoded.push(...(await fresh.encode([payload])));
  for (const p of encoded) await fresh.decode([p]);
  const ownCalls = counted.calls.wrap - before.wrap + (counted.calls.unwrap - before.unwrap);
  // A cold decoder (the codec server, another worker) reading the same 10,000 payloads.
  const coldBefore = { ...counted.calls };
  const cold = tenantPayloadCodec(await new EnvelopeKeyring(counted.backend).forTenant('bench'));
  for (const p of encoded) await cold.decode([p]);
  const coldCalls = counted.calls.wrap - coldBefore.wrap + (counted.calls.unwrap - coldBefore.unwrap);

  const cachePeriod = `cache period ${DEFAULT_CACHE.maxAgeMs / 60_000} min / ${DEFAULT_CACHE.maxMessages} messages`;
  report('codec', [
    {
      name: `codec encode+decode p50, ${size}-byte payload`,
      value: us(percentile(codecTimes, 50)),
      unit: 'us',
      baseline: { name: 'protobuf encode+decode only (no encryption)', value: us(percentile(plainTimes, 50)) },
      target: '< 50 us',
      note: `${ITERATIONS} iterations after 1000 warm-up; data keys cached`,
    },
    {
      name: `codec encode+decode p99, ${size}-byte payload`,
      value: us(percentile(codecTimes, 99)),
      unit: 'us',
      baseline: { name: 'protobuf encode+decode only (no encryption)', value: us(percentile(plainTimes, 99)) },
      note: `${ITERATIONS} iterations`,
    },
    {
      name: `root-key calls for ${PAYLOADS} payloads encoded and decoded by one process`,
      value: ownCalls,
      unit: 'calls',
      target: '<= 1 calls',
      note: `all within one ${cachePeriod}; counted by wrapping the backend's keyrings`,
    },
    {
      name: `root-key calls for a cold decoder reading the same ${PAYLOADS} payloads`,
      value: coldCalls,
      unit: 'calls',
      target: '<= 1 calls',
      note: 'one unwrap per data key, then cached',
    },
  ]);
} finally {
  rmSync(stateDir, { recursive: true, force: true });
}
