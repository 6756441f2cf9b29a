// The images' HEALTHCHECK: every service answers GET /healthz on $CLAW_PORT.
const port = process.env.CLAW_PORT ?? '8080';
try {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}
