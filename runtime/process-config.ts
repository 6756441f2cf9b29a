/**
 * "Read my configuration from env and files": what each runtime process does at start,
 * before it opens a connection or a port (contracts/wiring.ts is the contract). The three
 * main.ts call `readProcessConfig`; stacks/wiring.test.ts calls it on the environment a
 * synthesized Deployment gives, so the Deployments and the processes cannot drift apart.
 */
import { existsSync } from 'node:fs';
import { loadConfig } from '../core/config/load.js';
import type { ClawConfig } from '../core/config/schema.js';
import { ClawError } from '../core/errors.js';
import { K8S_NAMES } from '../contracts/kubernetes.js';
import { tokensPath } from './codec-server/tokens.js';
import { DB_SSL_MODES, DEFAULT_DB_PORT, DEFAULT_TEMPORAL_NAMESPACE, WIRING_ENV as E, type WiredComponent } from '../contracts/wiring.js';

export interface ProcessConfig {
  component: WiredComponent;
  stateDir: string;
  /** Path of claw.yaml; the codec-server may run without one. */
  configFile?: string;
  config?: ClawConfig;
  host: string;
  port: number;
  /** Worker and gateway. apiKey (Temporal Cloud, from a Secret): TLS with that key; never log it. */
  temporal?: { address: string; namespace: string; apiKey?: string };
  /** Worker and gateway; contains the password: never log it. */
  databaseUrl?: string;
  /** Codec-server: the issued tokens' hashes (CLAW_CODEC_TOKENS_FILE, else under the state dir). */
  codecTokensFile?: string;
}

type Env = Record<string, string | undefined>;

const LABEL: Record<WiredComponent, string> = { worker: 'the worker', gateway: 'the gateway', codecServer: 'the codec server' };
const CODE: Record<WiredComponent, string> = { worker: 'WORKER_ENV_MISSING', gateway: 'GATEWAY_ENV_MISSING', codecServer: 'CODEC_ENV_MISSING' };
const HINT = "start it with 'claw up' (local), or from the install's Deployment (cloud: components/k8s/runtime.ts, 'claw upgrade'), which sets the service environment";

/**
 * The metadata DB URL: DATABASE_URL as given (local), or built from CLAW_DB_HOST, _PORT,
 * _NAME, _USER and _PASSWORD (cloud; the password from a Secret), with CLAW_DB_SSLMODE and
 * CLAW_DB_CA_FILE as libpq's sslmode and sslrootcert (libpq semantics, which node-postgres
 * follows with uselibpqcompat). Undefined if neither; `invalid` names a bad TLS setting.
 */
export function databaseUrlFrom(env: Env): { url?: string; missing: string[]; invalid?: string } {
  const given = env[E.databaseUrl]?.trim();
  if (given) return { url: given, missing: [] };
  const parts = { host: env[E.dbHost], name: env[E.dbName], user: env[E.dbUser], password: env[E.dbPassword] };
  const missing: string[] = [
    ...(!parts.host ? [E.dbHost] : []),
    ...(!parts.name ? [E.dbName] : []),
    ...(!parts.user ? [E.dbUser] : []),
    ...(!parts.password ? [E.dbPassword] : []),
  ];
  const sslMode = env[E.dbSslMode]?.trim() || undefined;
  const caFile = env[E.dbCaFile]?.trim() || undefined;
  if (sslMode && !(DB_SSL_MODES as readonly string[]).includes(sslMode)) {
    return { missing, invalid: `${E.dbSslMode} is '${sslMode}', not one of ${DB_SSL_MODES.join(', ')}` };
  }
  if (sslMode?.startsWith('verify-') && !caFile) missing.push(`${E.dbCaFile} (${E.dbSslMode}=${sslMode} checks the server against it)`);
  if (missing.length > 0) return { missing };
  const port = env[E.dbPort]?.trim() || String(DEFAULT_DB_PORT);
  const enc = encodeURIComponent;
  const base = `postgres://${enc(parts.user!)}:${enc(parts.password!)}@${parts.host}:${port}/${enc(parts.name!)}`;
  if (!sslMode) return { url: base, missing: [] };
  const tls = new URLSearchParams({ sslmode: sslMode, ...(caFile && sslMode !== 'disable' ? { sslrootcert: caFile } : {}), uselibpqcompat: 'true' });
  return { url: `${base}?${tls.toString()}`, missing: [] };
}

function temporalFrom(address: string, namespace: string | undefined, apiKey: string | undefined): NonNullable<ProcessConfig['temporal']> {
  return { address, namespace: namespace ?? DEFAULT_TEMPORAL_NAMESPACE, ...(apiKey ? { apiKey } : {}) };
}

/** Read and check a process's configuration; every problem in one ClawError (no secret in it). Loads claw.yaml. */
export function readProcessConfig(component: WiredComponent, env: Env = process.env): ProcessConfig {
  const get = (name: string) => env[name]?.trim() || undefined;
  const missing: string[] = [];
  const need = (name: string) => {
    const value = get(name);
    if (!value) missing.push(name);
    return value;
  };
  // The Deployment names the component its pod is for: an image started in the wrong one stops here.
  const declared = get(E.component);
  if (declared && declared !== K8S_NAMES[component]) {
    throw new ClawError(CODE[component], `${LABEL[component]}: ${E.component} is '${declared}', but this is the ${K8S_NAMES[component]} process`, {
      hint: "each Deployment runs its own image (claw.yaml images.worker, images.gateway, images.codecServer); check the image digests and run 'claw upgrade'",
      details: { [E.component]: declared },
    });
  }
  const stateDir = need(E.stateDir);
  const configFile = component === 'codecServer' ? get(E.config) : need(E.config);
  const portText = need(E.port);
  const usesServers = component !== 'codecServer';
  const temporalAddress = usesServers ? need(E.temporalAddress) : undefined;
  const db = usesServers ? databaseUrlFrom(env) : { missing: [] };
  if (usesServers && db.invalid) {
    throw new ClawError(CODE[component], `${LABEL[component]}: ${db.invalid}`, { hint: HINT, details: { [E.dbSslMode]: env[E.dbSslMode] } });
  }
  if (usesServers && !db.url) missing.push(`${E.databaseUrl} (or ${db.missing.join(', ')})`);
  if (missing.length > 0) {
    throw new ClawError(CODE[component], `${LABEL[component]} needs ${missing.join(', ')}`, { hint: HINT, details: { missing } });
  }
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ClawError(CODE[component], `${LABEL[component]}: ${E.port} is '${portText}', not a port number`, { hint: HINT, details: { [E.port]: portText } });
  }
  // The codec-server runs without claw.yaml (it only decodes); the others load it and fail on a bad one.
  const config = configFile && (component !== 'codecServer' || existsSync(configFile)) ? loadConfig(configFile) : undefined;
  return {
    component,
    stateDir: stateDir!,
    ...(configFile ? { configFile } : {}),
    ...(config ? { config } : {}),
    host: get(E.host) ?? '127.0.0.1',
    port,
    ...(temporalAddress ? { temporal: temporalFrom(temporalAddress, get(E.temporalNamespace), get(E.temporalApiKey)) } : {}),
    ...(db.url ? { databaseUrl: db.url } : {}),
    ...(component === 'codecServer' ? { codecTokensFile: tokensPath(stateDir!, env) } : {}),
  };
}
