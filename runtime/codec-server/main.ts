/**
 * The codec-server process (contracts/wiring.ts): env CLAW_STATE_DIR, CLAW_CONFIG,
 * CLAW_PORT; optional CLAW_HOST (default 127.0.0.1), CLAW_CODEC_CORS_ORIGINS (comma
 * separated; default the local Temporal UI on local.temporalUiPort), CLAW_CODEC_TOKENS_FILE.
 * GET /healthz answers 200 once listening; SIGTERM closes it cleanly.
 */
import { isClawError } from '../../core/errors.js';
import { openTarget } from '../targets/index.js';
import { readProcessConfig } from '../process-config.js';
import { buildCodecServer } from './server.js';
import { TokenStore } from './tokens.js';

async function main(): Promise<void> {
  // Env and files (contracts/wiring.ts); a missing one is CODEC_ENV_MISSING naming it.
  const { stateDir, host, port, config, codecTokensFile } = readProcessConfig('codecServer');
  const uiPort = config?.local.temporalUiPort ?? 8233;
  const corsOrigins = (process.env.CLAW_CODEC_CORS_ORIGINS ?? `http://127.0.0.1:${uiPort},http://localhost:${uiPort}`)
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);

  const app = await buildCodecServer({
    // The tenant keys from the target (runtime/targets): the only port the codec-server has.
    keyring: (await openTarget({ component: 'codecServer', stateDir, ...(config ? { config } : {}) })).tenantKeyring,
    tokens: new TokenStore(codecTokensFile!),
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
