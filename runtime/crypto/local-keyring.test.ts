/**
 * The shared keyring contract on the local backend (the reference: its own, more detailed
 * tests are in envelope.test.ts), so the contract is known to hold where it is cheapest to run.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnvelopeKeyring, LocalKeyringBackend } from './index.js';
import { countingBackend, type RootKeyCalls } from './testing/counting-backend.js';
import { describeKeyringContract, headerOf } from './testing/keyring-contract.js';

describeKeyringContract('local keyring file', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'claw-contract-'));
  const calls: RootKeyCalls = { wrap: 0, unwrap: 0 };
  return {
    open: (limits) => new EnvelopeKeyring(countingBackend(new LocalKeyringBackend(stateDir), calls).backend, limits),
    rootKeyCalls: () => calls,
    shredNoticeMs: 1_500,
    keyVersionOf: (sealed) => headerOf(sealed).k[0]!.i.split('\u0000')[0]!,
  };
});
