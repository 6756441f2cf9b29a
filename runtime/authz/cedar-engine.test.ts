/**
 * The two Cedar builds decide alike: the native addon (native/cedar) and cedar-wasm, same
 * Cedar release, given the same requests, give the same answers — decisions, determining
 * policies, evaluation errors and request-validation failures — at the engine level and
 * through the authorizer. Real: both engines, the install's policies and schema.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../core/config/load.js';
import { isClawError } from '../../core/errors.js';
import { ADMIN_ACTIONS, type AdminAction } from '../../core/config/access.js';
import type { ToolCallRequest } from '../ports.js';
import { CedarAuthorizer, type RawRequest } from './authorizer.js';
import { chooseEngine, loadNativeEngine, wasmEngine, type CedarEngine, type StatefulCall } from './cedar-engine.js';

const CONFIG_FILE = 'policies/cedar/tests/install/claw.yaml';
const config = loadConfig(CONFIG_FILE);
const native = loadNativeEngine();
const nativeMissing = typeof native === 'string' ? native : undefined;
if (nativeMissing) console.warn(`cedar-engine: native engine comparisons skipped: ${nativeMissing}`);

describe('choosing the engine', () => {
  const missing = join(mkdtempSync(join(tmpdir(), 'claw-cedar-')), 'claw_cedar.node');

  it('auto falls back to wasm when the addon is not built; native then refuses with its code', () => {
    expect(chooseEngine('auto', missing).kind).toBe('wasm');
    expect(chooseEngine('wasm').kind).toBe('wasm');
    const err = catchError(() => chooseEngine('native', missing));
    expect(isClawError(err) && err.code).toBe('CEDAR_ENGINE_UNAVAILABLE');
    expect((err as Error).message).toContain('is not built');
  });

  it('refuses an unknown engine name, and an addon that is not one', () => {
    expect(isClawError(catchError(() => chooseEngine('rust'))) && (catchError(() => chooseEngine('rust')) as { code: string }).code).toBe('CEDAR_ENGINE_INVALID');
    writeFileSync(missing, 'not a shared object');
    expect(chooseEngine('auto', missing).kind).toBe('wasm');
    expect(String(loadNativeEngine(missing))).toContain('did not load');
  });
});

describe.skipIf(nativeMissing)('native and wasm decide alike', () => {
  const engine = native as CedarEngine;

  const schema = `
    entity Role; entity User in [Role] { name: String };
    entity Doc { owner: User, size: Long };
    action read appliesTo { principal: User, resource: Doc, context: { n: Long, ip: ipaddr } };`;
  const policies: Record<string, string> = {
    owner: 'permit(principal, action == Action::"read", resource) when { resource.owner == principal };',
    admins: '@reason("admins read") permit(principal in Role::"admin", action, resource);',
    big: 'forbid(principal, action, resource) when { resource.size > 1000 };',
    overflow: 'forbid(principal, action, resource) when { context.n > 0 && context.n + 9223372036854775807 > 0 };',
    lan: 'permit(principal, action, resource) when { context.ip.isInRange(ip("10.0.0.0/8")) };',
  };
  const entities = (owner: string, size: number, roles: string[] = []) => [
    { uid: { type: 'User', id: 'ana' }, attrs: { name: 'Ana' }, parents: roles.map((id) => ({ type: 'Role', id })) },
    { uid: { type: 'User', id: 'bo' }, attrs: { name: 'Bo' }, parents: [] },
    { uid: { type: 'Role', id: 'admin' }, attrs: {}, parents: [] },
    { uid: { type: 'Doc', id: 'd1' }, attrs: { owner: { __entity: { type: 'User', id: owner } }, size }, parents: [] },
  ];
  for (const e of [engine, wasmEngine]) {
    expect(e.preparseSchema('diff-schema', schema).type).toBe('success');
    expect(e.preparsePolicySet('diff-set', policies).type).toBe('success');
  }
  const both = (call: Omit<StatefulCall, 'preparsedPolicySetId' | 'preparsedSchemaName' | 'validateRequest'>, validateRequest = true) => {
    const full = { ...call, preparsedPolicySetId: 'diff-set', preparsedSchemaName: 'diff-schema', validateRequest };
    return { native: engine.isAuthorized(full), wasm: wasmEngine.isAuthorized(full) };
  };
  const request = (n: number, ip: string, ents = entities('ana', 10)) => ({
    principal: { type: 'User', id: 'ana' },
    action: { type: 'Action', id: 'read' },
    resource: { type: 'Doc', id: 'd1' },
    context: { n, ip: { __extn: { fn: 'ip', arg: ip } } },
    entities: ents,
  });

  it('the same answer, reasons and evaluation errors included, for each of a corpus of requests', () => {
    const corpus = [
      request(-10, '192.168.1.1'), // owner permits
      request(-10, '10.1.2.3', entities('bo', 10)), // not the owner; the LAN permits
      request(-10, '192.168.1.1', entities('bo', 10)), // nothing permits
      request(-10, '10.1.2.3', entities('ana', 5000, ['admin'])), // forbid wins over three permits
      request(5, '192.168.1.1'), // the overflow forbid errors: skipped, recorded
    ];
    const answers = corpus.map((r) => both(r));
    for (const { native: n, wasm: w } of answers) expect(n).toEqual(w);
    expect(answers.map((a) => (a.native.type === 'success' ? a.native.response.decision : 'failure'))).toEqual(['allow', 'allow', 'deny', 'deny', 'allow']);
    const overflow = answers[4]!.native;
    expect(overflow.type === 'success' && overflow.response.diagnostics.errors.map((e) => e.policyId)).toEqual(['overflow']);
  });

  it('the same failures for requests the schema refuses (a context of the wrong type, an unknown entity type, a missing set)', () => {
    const wrongType = { ...request(1, '10.0.0.1'), context: { n: 'one', ip: { __extn: { fn: 'ip', arg: '10.0.0.1' } } } };
    const unknownType = { ...request(1, '10.0.0.1'), principal: { type: 'Robot', id: 'r2' } };
    const badEntity = request(1, '10.0.0.1', [{ uid: { type: 'Doc', id: 'd1' }, attrs: { owner: 'ana' as never, size: 1 }, parents: [] }]);
    for (const call of [wrongType, unknownType, badEntity]) {
      const { native: n, wasm: w } = both(call);
      expect(n.type).toBe('failure');
      expect(n).toEqual(w);
    }
    const missingSet = { ...request(1, '10.0.0.1'), preparsedPolicySetId: 'no-such-set', preparsedSchemaName: 'diff-schema', validateRequest: true };
    expect(engine.isAuthorized(missingSet)).toEqual(wasmEngine.isAuthorized(missingSet));
    // without request validation the wrong context still fails to parse against the schema, in both
    expect(both(wrongType, false).native).toEqual(both(wrongType, false).wasm);
  });

  it('contexts in the forms only a schema reads (an implicit ipaddr string), and ones Cedar refuses, answer as cedar-wasm does', () => {
    // The native engine builds plain JSON contexts itself and leaves every other form to
    // Cedar's parser: an implicit extension value must still be read as the schema declares it.
    const implicit = { ...request(-1, '10.0.0.1'), context: { n: -1, ip: '10.1.2.3' } };
    const { native: n, wasm: w } = both(implicit);
    expect(n).toEqual(w);
    expect(n.type === 'success' && n.response.decision).toBe('allow'); // the LAN permit read the string as an ipaddr
    for (const context of [{ n: 1.5, ip: '10.1.2.3' }, { n: null, ip: '10.1.2.3' }, { n: -1, ip: '10.1.2.3', extra: true }, { n: -1 }]) {
      const answers = both({ ...request(-1, '10.0.0.1'), context });
      expect(answers.native.type, JSON.stringify(context)).toBe('failure');
      expect(answers.native).toEqual(answers.wasm);
    }
  });

  it('a schema pre-parsed again under the same name applies to entities the native engine had already parsed', () => {
    const call = { ...request(-1, '10.0.0.1'), preparsedPolicySetId: 'diff-set', preparsedSchemaName: 'diff-schema-2', validateRequest: true };
    for (const e of [engine, wasmEngine]) expect(e.preparseSchema('diff-schema-2', schema).type).toBe('success');
    expect(engine.isAuthorized(call).type).toBe('success');
    // the same name, now with Doc.size a String: the same entity JSON no longer conforms
    const changed = schema.replace('size: Long', 'size: String');
    for (const e of [engine, wasmEngine]) expect(e.preparseSchema('diff-schema-2', changed).type).toBe('success');
    const after = engine.isAuthorized(call);
    expect(after.type).toBe('failure');
    expect(after).toEqual(wasmEngine.isAuthorized(call));
  });

  it('the same answer for random contexts and entity attributes (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
        fc.constantFrom('10.0.0.1', '192.168.0.1', '::1', '10.255.255.255'),
        fc.constantFrom('ana', 'bo'),
        fc.integer({ min: 0, max: 2000 }),
        fc.subarray(['admin']),
        fc.boolean(),
        (n, ip, owner, size, roles, implicitIp) => {
          const call = request(n, ip, entities(owner, size, roles));
          // the ipaddr as Cedar's explicit escape (Cedar's parser) or as the plain string the schema reads (built natively, then checked)
          if (implicitIp) call.context = { n, ip } as never;
          const { native: a, wasm: b } = both(call);
          expect(a).toEqual(b);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('through the authorizer: the install\'s tool calls and admin actions decide alike', () => {
    const now = () => new Date('2026-01-05T02:00:00Z'); // night: the @shadow policy disagrees, so slices evaluate twice
    const viaNative = CedarAuthorizer.fromConfig(config, CONFIG_FILE, { now, engine });
    const viaWasm = CedarAuthorizer.fromConfig(config, CONFIG_FILE, { now, engine: wasmEngine });
    expect([viaNative.engine, viaWasm.engine]).toEqual(['native', 'wasm']);
    const calls: ToolCallRequest[] = [];
    for (const tenantId of ['acme', 'globex']) {
      for (const agentId of ['helper', 'triage', 'nobody']) {
        for (const [tool, args] of [
          ['echo', { text: 'hi' }],
          ['echo', { text: 'my password is x' }],
          ['gmail.send', { to: 'team@acme.com' }],
          ['gmail.send', { to: 'boss@evil.example' }],
          ['github.issues', { repo: 'acme/app' }],
          ['calc.sum', { values: [1, 2] }],
          ['shell.wc', {}],
        ] as const) {
          calls.push({ tenantId, agentId, runId: 'r-1', tool, args: { ...args } });
          calls.push({ tenantId, agentId, runId: 'r-1', tool, args: { ...args }, budget: { stepsUsed: 9, tokensUsed: 0 } });
        }
      }
    }
    const decisions = calls.map((c) => [viaNative.authorizeToolCall(c), viaWasm.authorizeToolCall(c)] as const);
    for (const [n, w] of decisions) expect(n).toEqual(w);
    // the corpus is not all one answer
    expect(new Set(decisions.map(([n]) => `${n.decision}:${n.requiresApproval}:${n.shadow?.decision}`)).size).toBeGreaterThan(3);

    const raw: RawRequest = { tenantId: 'acme', principal: { type: 'Agent', id: 'acme/helper' }, action: 'invokeTool:echo', resource: { type: 'Tool', id: 'acme/echo' }, context: { budget: { stepsUsed: 'many' } } };
    const [rn, rw] = [viaNative.authorizeRaw(raw, 'helper'), viaWasm.authorizeRaw(raw, 'helper')];
    expect(rn).toEqual(rw);
    expect(rn.decision).toBe('deny');
    expect(rn.errors.length).toBeGreaterThan(0);

    for (const action of Object.keys(ADMIN_ACTIONS) as AdminAction[]) {
      for (const roles of [['admin'], ['approver'], ['auditor'], []]) {
        const resource = { type: ADMIN_ACTIONS[action].resource, id: ADMIN_ACTIONS[action].resource === 'Tenant' ? 'acme' : ADMIN_ACTIONS[action].resource === 'Tool' ? 'acme/echo' : 'acme/helper' };
        const req = { tenantId: 'acme', principal: { kind: 'user' as const, id: 'ana@acme.com', roles }, action, resource };
        expect(viaNative.authorizeAdmin(req)).toEqual(viaWasm.authorizeAdmin(req));
      }
    }
  });
});

function catchError(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}
