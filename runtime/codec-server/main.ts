/**
 * The codec-server process (PLAN.md service contract): env CLAW_STATE_DIR, CLAW_CONFIG,
 * CLAW_PORT; optional CLAW_HOST (default 127.0.0.1), CLAW_CODEC_CORS_ORIGINS (comma
 * separated; default the local Temporal UI on local.temporalUiPort), CLAW_CODEC_TOKENS_FILE.
 * GET /healthz answers 200 once listening; SIGTERM closes it cleanly.
 */
import { existsSync } from 'node:fs';
import { loadConfig } from '../../core/config/load.js';
import { ClawError, isClawError } from '../../core/errors.js';
import { openTenantKeyring } from '../adapters.js';
import { buildCodecServer } from './server.js';
import { TokenStore, tokensPath } from './tokens.js';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new ClawError('CODEC_ENV_MISSING', `the codec server needs ${name}`, { hint: "start it with 'claw up', which sets the service environment" });
  return value;
}

async function main(): Promise<void> {
  const stateDir = env('CLAW_STATE_DIR');
  const port = Number(env('CLAW_PORT'));
  const host = process.env.CLAW_HOST ?? '127.0.0.1';
  const configFile = process.env.CLAW_CONFIG;
  const config = configFile && existsSync(configFile) ? loadConfig(configFile) : undefined;
  const uiPort = config?.local.temporalUiPort ?? 8233;
  const corsOrigins = (process.env.CLAW_CODEC_CORS_ORIGINS ?? `http://127.0.0.1:${uiPort},http://localhost:${uiPort}`)
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);

  const app = await buildCodecServer({
    // The tenant keys by target (local keyring file; AWS KMS / Cloud KMS from CLAW_TARGET + CLAW_TENANTS_FILE).
    keyring: await openTenantKeyring({ component: 'codecServer', stateDir, ...(config ? { config } : {}) }),
    tokens: new TokenStore(tokensPath(stateDir)),
    corsOrigins,
    logger: true,
  });
  await app.listen({ host, port });

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await app.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error(`codec-server failed to start: ${isClawError(err) ? err.toLine() : err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
