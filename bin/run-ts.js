#!/usr/bin/env node
// Runs a TypeScript entry point (worker, gateway, bench) from source through tsx.
import { register } from 'tsx/esm/api';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

register();
const entry = process.argv[2];
if (!entry) {
  console.error('usage: run-ts.js <file.ts> [args...]');
  process.exit(1);
}
process.argv.splice(1, 1); // the entry sees itself as argv[1]
await import(pathToFileURL(resolve(entry)).href);
