/**
 * Which Cedar evaluates a request: the same Cedar release either way, two builds of it.
 *
 * - `native`: Cedar's Rust crate as an N-API addon (native/cedar, built by `npm run setup`
 *   or `npm run native` where a Rust toolchain is present). A request crosses as two JSON
 *   strings, and the entity slice's string is kept with the slice, so a call costs Cedar's
 *   evaluation plus a JSON parse (bench/authz.bench.ts: ~4x faster than wasm per call).
 * - `wasm`: `@cedar-policy/cedar-wasm`, which converts each JS object of a request property
 *   by property and clones the pre-parsed schema and policy set on every call.
 *
 * Both take cedar-wasm's stateful calls and give its answers, so the authorizer does not know
 * which it has; cedar-engine.test.ts holds them to the same decisions, reasons and errors.
 * `CLAW_CEDAR_ENGINE=native|wasm|auto` (default auto: native when the addon is built for this
 * Cedar release, wasm otherwise). Asking for native where it is missing is an error, never a
 * silent fallback.
 */
import * as wasm from '@cedar-policy/cedar-wasm/nodejs';
import { existsSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ClawError } from '../../core/errors.js';

/**
 * Node 20's V8 (11.3) aborts the process ("unreachable code" in
 * Deoptimizer::DoComputeBuiltinContinuation, a "JS to Wasm builtin continuation frame") when a
 * hot function that inlined its call into cedar-wasm is lazily deoptimized: bench/authz.bench.ts
 * died so in 5 runs of 8 on Node 20.20, never with this inlining off (4 of 4) and never on
 * Node 24 (3 of 3). Off before any of it is compiled, on Node before 24 (22 is untested here;
 * the cost is one call frame per Wasm call).
 */
if (Number(process.versions.node.split('.')[0]) < 24) setFlagsFromString('--no-turbo-inline-js-wasm-calls');

export type CedarEngineKind = 'native' | 'wasm';

export interface StatefulCall {
  preparsedPolicySetId: string;
  preparsedSchemaName?: string;
  validateRequest: boolean;
  principal: wasm.EntityUidJson;
  action: wasm.EntityUidJson;
  resource: wasm.EntityUidJson;
  context: Record<string, unknown>;
  /** The same array for the same entity slice: the native engine keeps its JSON with it. */
  entities: readonly unknown[];
}

export interface CedarEngine {
  readonly kind: CedarEngineKind;
  preparseSchema(name: string, schema: string): wasm.CheckParseAnswer;
  preparsePolicySet(id: string, staticPolicies: Record<string, string>): wasm.CheckParseAnswer;
  isAuthorized(call: StatefulCall): wasm.AuthorizationAnswer;
}

/** The addon's exports (native/cedar/src/lib.rs). */
interface NativeAddon {
  cedarVersion(): string;
  preparseSchema(name: string, schema: string): string;
  preparsePolicySet(id: string, policiesJson: string): string;
  isAuthorized(policySetId: string, schemaName: string | null, validateRequest: boolean, requestJson: string, entitiesJson: string): string;
}

/** Where `npm run native` puts the addon. */
export const NATIVE_ADDON_PATH = fileURLToPath(new URL('../../native/cedar/claw_cedar.node', import.meta.url));

export const wasmEngine: CedarEngine = {
  kind: 'wasm',
  preparseSchema: (name, schema) => wasm.preparseSchema(name, schema),
  preparsePolicySet: (id, staticPolicies) => wasm.preparsePolicySet(id, { staticPolicies }),
  isAuthorized: (call) => inOrder(wasm.statefulIsAuthorized(call as wasm.StatefulAuthorizationCall)),
};

/**
 * Cedar reports the determining policies and the evaluation errors as sets (a Rust HashSet,
 * whose order differs between builds and runs); both engines hand them on sorted by policy
 * id, so a decision record reads the same whichever engine made it.
 */
function inOrder(answer: wasm.AuthorizationAnswer): wasm.AuthorizationAnswer {
  if (answer.type === 'success') {
    const { diagnostics } = answer.response;
    diagnostics.reason.sort();
    diagnostics.errors.sort((a, b) => (a.policyId < b.policyId ? -1 : a.policyId > b.policyId ? 1 : 0));
  }
  return answer;
}

export class NativeEngine implements CedarEngine {
  readonly kind = 'native';
  /** An entity slice's JSON, kept as long as the slice (the authorizer caches slices). */
  private readonly entityJson = new WeakMap<object, string>();

  constructor(private readonly addon: NativeAddon) {}

  preparseSchema(name: string, schema: string): wasm.CheckParseAnswer {
    return JSON.parse(this.addon.preparseSchema(name, schema)) as wasm.CheckParseAnswer;
  }

  preparsePolicySet(id: string, staticPolicies: Record<string, string>): wasm.CheckParseAnswer {
    return JSON.parse(this.addon.preparsePolicySet(id, JSON.stringify({ staticPolicies }))) as wasm.CheckParseAnswer;
  }

  isAuthorized(call: StatefulCall): wasm.AuthorizationAnswer {
    let entities = this.entityJson.get(call.entities);
    if (entities === undefined) {
      entities = JSON.stringify(call.entities);
      this.entityJson.set(call.entities, entities);
    }
    const request = JSON.stringify({ principal: call.principal, action: call.action, resource: call.resource, context: call.context });
    return inOrder(JSON.parse(this.addon.isAuthorized(call.preparsedPolicySetId, call.preparsedSchemaName ?? null, call.validateRequest, request, entities)) as wasm.AuthorizationAnswer);
  }
}

/** The addon, if it is built and was built with the Cedar release cedar-wasm has; else why not. */
export function loadNativeEngine(path = NATIVE_ADDON_PATH): NativeEngine | string {
  if (!existsSync(path)) return `${path} is not built (npm run native; it needs cargo)`;
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (err) {
    return `${path} did not load: ${(err as Error).message.split('\n')[0]}`;
  }
  const version = addon.cedarVersion();
  if (version !== wasm.getCedarVersion()) {
    return `${path} has Cedar ${version}, cedar-wasm has ${wasm.getCedarVersion()}: rebuild it (npm run native)`;
  }
  return new NativeEngine(addon);
}

let chosen: CedarEngine | undefined;

/** The process's engine, chosen once from CLAW_CEDAR_ENGINE. */
export function cedarEngine(env: NodeJS.ProcessEnv = process.env): CedarEngine {
  if (chosen) return chosen;
  chosen = chooseEngine(env.CLAW_CEDAR_ENGINE);
  return chosen;
}

export function chooseEngine(wanted = 'auto', path = NATIVE_ADDON_PATH): CedarEngine {
  if (wanted === 'wasm') return wasmEngine;
  if (wanted !== 'auto' && wanted !== 'native') {
    throw new ClawError('CEDAR_ENGINE_INVALID', `CLAW_CEDAR_ENGINE is '${wanted}'`, { hint: 'use native, wasm or auto (the default)' });
  }
  const native = loadNativeEngine(path);
  if (typeof native !== 'string') return native;
  if (wanted === 'native') throw new ClawError('CEDAR_ENGINE_UNAVAILABLE', `the native Cedar engine is unavailable: ${native}`, { hint: 'build it with npm run native, or set CLAW_CEDAR_ENGINE=wasm' });
  return wasmEngine;
}
