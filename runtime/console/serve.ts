/**
 * The web console (runtime/console/app): Preact pages styled by Pico CSS, bundled by esbuild
 * when the serving process starts (in memory: the images' root filesystem is read-only), so
 * nothing is fetched from a CDN at run time. Served by the admin API's Fastify instance:
 *
 *   /console/              the page (one HTML shell; pages are hash routes)
 *   /console/assets/*      the bundle (main.js, main.css), immutable per build
 *   /console/config.json   where to sign in: the install's OpenID Provider and client id
 *
 * The page talks only to the admin API (its client is generated from the OpenAPI document:
 * app/api-types.ts) and to the OpenID Provider (authorization code + PKCE, oauth4webapi).
 * The Content-Security-Policy allows scripts and styles from this origin only.
 */
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Access } from '../../core/config/schema.js';

const APP = join(dirname(fileURLToPath(import.meta.url)), 'app');

export interface ConsoleAssets {
  /** By file name (main.js, main.css): body, content type, and a hash for the cache key. */
  files: Map<string, { body: Buffer; type: string }>;
  version: string;
}

/** Bundle the console (minified; about 100 ms). */
export async function buildConsole(): Promise<ConsoleAssets> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [join(APP, 'main.tsx')],
    bundle: true,
    minify: true,
    write: false,
    outdir: '/console-assets',
    format: 'esm',
    target: ['es2022'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const files = new Map<string, { body: Buffer; type: string }>();
  const hash = createHash('sha256');
  for (const out of result.outputFiles) {
    const name = out.path.slice(out.path.lastIndexOf('/') + 1);
    const body = Buffer.from(out.contents);
    hash.update(body);
    files.set(name, { body, type: name.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8' });
  }
  return { files, version: hash.digest('hex').slice(0, 12) };
}

function page(version: string): string {
  return `<!doctype html>
<html lang="en" data-theme="light">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Claw console</title>
<link rel="stylesheet" href="/console/assets/main.css?v=${version}">
<script type="module" src="/console/assets/main.js?v=${version}"></script>
</head>
<body>
<noscript>The Claw console needs JavaScript. The CLI (claw) does everything it does.</noscript>
<div id="app"></div>
</body>
</html>
`;
}

export async function registerConsole(app: FastifyInstance, oidc: () => Access['oidc']): Promise<ConsoleAssets> {
  const assets = await buildConsole();
  const html = page(assets.version);
  const csp = () => {
    const issuer = oidc()?.issuer;
    const op = issuer ? ` ${new URL(issuer).origin}` : '';
    return `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'${op}; form-action 'self'${op}; base-uri 'none'; frame-ancestors 'none'`;
  };
  const schema = { hide: true } as const;
  app.get('/console', { schema }, (_request, reply) => reply.redirect('/console/'));
  app.get('/console/', { schema }, (_request, reply) =>
    reply.header('content-security-policy', csp()).header('cache-control', 'no-store').header('x-content-type-options', 'nosniff').type('text/html; charset=utf-8').send(html),
  );
  app.get<{ Params: { file: string } }>('/console/assets/:file', { schema }, (request, reply) => {
    const file = assets.files.get(request.params.file);
    if (!file) return reply.code(404).send({ code: 'NOT_FOUND', message: `no console asset '${request.params.file}'` });
    return reply.header('cache-control', 'public, max-age=31536000, immutable').header('x-content-type-options', 'nosniff').type(file.type).send(file.body);
  });
  app.get('/console/config.json', { schema }, (_request, reply) => {
    const settings = oidc();
    return reply.header('cache-control', 'no-store').send(settings ? { issuer: settings.issuer, clientId: settings.clientId, scopes: settings.scopes } : { issuer: null });
  });
  return assets;
}
