/**
 * A loopback STAND-IN for the Cloud KMS REST API, for tests only. There is no Cloud KMS
 * emulator (unlike moto for AWS KMS), so this implements just what the gcp-kms backend
 * calls, with Cloud KMS's field names, states and error shapes:
 *
 *   GET  {key}                                   CryptoKey (with its primary version)
 *   POST {keyRing}/cryptoKeys?cryptoKeyId=ID     create (409 ALREADY_EXISTS if it exists)
 *   POST {key}:encrypt / {key}:decrypt           real AES-256-GCM per version, AAD honoured,
 *                                                CRC32C fields checked and returned
 *   GET  {key}/cryptoKeyVersions                 list (pageSize / pageToken)
 *   POST {key}/cryptoKeyVersions                 create a version
 *   POST {key}:updatePrimaryVersion              { cryptoKeyVersionId }
 *   POST {key}/cryptoKeyVersions/{v}:destroy     -> DESTROY_SCHEDULED; its material is wiped
 *
 * It also plays the GCE metadata server's token endpoint
 * (`GET /computeMetadata/v1/instance/service-accounts/default/token`, `Metadata-Flavor: Google`),
 * handing out the one token it accepts.
 *
 * Errors are `{ error: { code, message, status } }`. A version that is not ENABLED answers
 * FAILED_PRECONDITION naming its state, a bad ciphertext or AAD INVALID_ARGUMENT, a wrong
 * token 401, a denied key 403, and `throttleNext(n)` makes the next n requests 429.
 * Listens on 127.0.0.1 on a free port; `close()` stops it, and it never holds the process open.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { crc32c } from '../gcp-kms.js';

interface Version {
  id: number;
  state: 'ENABLED' | 'DISABLED' | 'DESTROY_SCHEDULED' | 'DESTROYED';
  material: Buffer;
  createTime: string;
}

interface Key {
  name: string;
  versions: Version[];
  primary: number;
  labels: Record<string, string>;
  createTime: string;
}

export interface CloudKmsStandIn {
  baseUrl: string;
  /** The bearer token it accepts. */
  token: string;
  /** Every request: method, path (after /v1/), the operation and the HTTP status answered. */
  readonly requests: { method: string; path: string; op: string; status: number }[];
  /** How many requests of an operation ('encrypt', 'decrypt', 'get', 'create', 'list', 'createVersion', 'updatePrimary', 'destroy') were answered (any status). */
  count(op: string): number;
  /** The next `n` requests are answered 429 RESOURCE_EXHAUSTED. */
  throttleNext(n: number): void;
  /** Requests on this key are answered 403 PERMISSION_DENIED. */
  deny(keyName: string): void;
  /** Versions of a key as the API lists them (name, state), and whether key material is still held. */
  versions(keyName: string): { name: string; state: string; hasMaterial: boolean }[];
  close(): Promise<void>;
}

class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly status: string,
    message: string,
  ) {
    super(message);
  }
}

const KEY = '(projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/:]+)';
const KEY_RING = '(projects/[^/]+/locations/[^/]+/keyRings/[^/:]+)';
const ROUTES: { method: string; pattern: RegExp; op: string }[] = [
  { method: 'GET', pattern: new RegExp(`^${KEY}$`), op: 'get' },
  { method: 'POST', pattern: new RegExp(`^${KEY_RING}/cryptoKeys$`), op: 'create' },
  { method: 'POST', pattern: new RegExp(`^${KEY}:encrypt$`), op: 'encrypt' },
  { method: 'POST', pattern: new RegExp(`^${KEY}:decrypt$`), op: 'decrypt' },
  { method: 'POST', pattern: new RegExp(`^${KEY}:updatePrimaryVersion$`), op: 'updatePrimary' },
  { method: 'GET', pattern: new RegExp(`^${KEY}/cryptoKeyVersions$`), op: 'list' },
  { method: 'POST', pattern: new RegExp(`^${KEY}/cryptoKeyVersions$`), op: 'createVersion' },
  { method: 'POST', pattern: new RegExp(`^${KEY}/cryptoKeyVersions/(\\d+):destroy$`), op: 'destroy' },
];

function newVersion(id: number): Version {
  return { id, state: 'ENABLED', material: randomBytes(32), createTime: new Date().toISOString() };
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  if (chunks.length === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new ApiError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
  }
}

function b64(field: unknown, name: string, required: boolean): Buffer {
  if (field === undefined || field === '') {
    if (required) throw new ApiError(400, 'INVALID_ARGUMENT', `${name} is required`);
    return Buffer.alloc(0);
  }
  if (typeof field !== 'string') throw new ApiError(400, 'INVALID_ARGUMENT', `Invalid value at '${name}'`);
  return Buffer.from(field, 'base64');
}

function checkCrc(bytes: Buffer, given: unknown, name: string): boolean {
  if (given === undefined) return false;
  if (String(given) !== crc32c(bytes)) throw new ApiError(400, 'INVALID_ARGUMENT', `The checksum in field ${name} did not match the data in field ${name.replace(/Crc32c$/, '')}.`);
  return true;
}

export async function startCloudKmsStandIn(options: { token?: string } = {}): Promise<CloudKmsStandIn> {
  const token = options.token ?? `standin-${randomBytes(8).toString('hex')}`;
  const keys = new Map<string, Key>();
  const denied = new Set<string>();
  const requests: CloudKmsStandIn['requests'] = [];
  let throttle = 0;

  const versionName = (key: Key, id: number) => `${key.name}/cryptoKeyVersions/${id}`;
  const versionJson = (key: Key, v: Version) => ({
    name: versionName(key, v.id),
    state: v.state,
    protectionLevel: 'SOFTWARE',
    algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION',
    createTime: v.createTime,
  });
  const keyJson = (key: Key) => {
    const primary = key.versions.find((v) => v.id === key.primary);
    return {
      name: key.name,
      purpose: 'ENCRYPT_DECRYPT',
      createTime: key.createTime,
      labels: key.labels,
      versionTemplate: { protectionLevel: 'SOFTWARE', algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION' },
      ...(primary ? { primary: versionJson(key, primary) } : {}),
    };
  };
  const mustKey = (name: string): Key => {
    const key = keys.get(name);
    if (!key) throw new ApiError(404, 'NOT_FOUND', `${name} not found.`);
    if (denied.has(name)) throw new ApiError(403, 'PERMISSION_DENIED', `Permission 'cloudkms.cryptoKeyVersions.useToEncrypt' denied on resource '${name}' (or it may not exist).`);
    return key;
  };
  const mustBeEnabled = (key: Key, v: Version) => {
    if (v.state !== 'ENABLED') {
      throw new ApiError(400, 'FAILED_PRECONDITION', `The request cannot be fulfilled. Resource ${versionName(key, v.id)} has value ${v.state} in field crypto_key_version.state.`);
    }
  };

  async function handle(method: string, path: string, query: URLSearchParams, req: IncomingMessage, op: string, match: RegExpExecArray): Promise<unknown> {
    const name = match[1]!;
    switch (op) {
      case 'get':
        return keyJson(mustKey(name));
      case 'create': {
        const id = query.get('cryptoKeyId') ?? '';
        if (!/^[a-zA-Z0-9_-]{1,63}$/.test(id)) throw new ApiError(400, 'INVALID_ARGUMENT', 'Invalid cryptoKeyId');
        const body = await readJson(req);
        if (body.purpose !== 'ENCRYPT_DECRYPT') throw new ApiError(400, 'INVALID_ARGUMENT', 'The stand-in only supports purpose ENCRYPT_DECRYPT');
        const keyName = `${name}/cryptoKeys/${id}`;
        if (keys.has(keyName)) throw new ApiError(409, 'ALREADY_EXISTS', `CryptoKey ${keyName} already exists.`);
        const key: Key = { name: keyName, versions: [newVersion(1)], primary: 1, labels: (body.labels as Record<string, string>) ?? {}, createTime: new Date().toISOString() };
        keys.set(keyName, key);
        return keyJson(key);
      }
      case 'encrypt': {
        const key = mustKey(name);
        const body = await readJson(req);
        const plaintext = b64(body.plaintext, 'plaintext', true);
        const aad = b64(body.additionalAuthenticatedData, 'additional_authenticated_data', false);
        const verifiedPlaintextCrc32c = checkCrc(plaintext, body.plaintextCrc32c, 'plaintextCrc32c');
        const verifiedAdditionalAuthenticatedDataCrc32c = checkCrc(aad, body.additionalAuthenticatedDataCrc32c, 'additionalAuthenticatedDataCrc32c');
        const primary = key.versions.find((v) => v.id === key.primary);
        if (!primary) throw new ApiError(400, 'FAILED_PRECONDITION', `${key.name} has no primary version.`);
        mustBeEnabled(key, primary);
        // Ciphertext: version id u32 | iv | body | tag — the version travels with the data, as in Cloud KMS.
        const iv = randomBytes(12);
        const cipher = createCipheriv('aes-256-gcm', primary.material, iv);
        cipher.setAAD(aad);
        const head = Buffer.alloc(4);
        head.writeUInt32BE(primary.id);
        const ciphertext = Buffer.concat([head, iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
        return {
          name: versionName(key, primary.id),
          ciphertext: ciphertext.toString('base64'),
          ciphertextCrc32c: crc32c(ciphertext),
          verifiedPlaintextCrc32c,
          verifiedAdditionalAuthenticatedDataCrc32c,
          protectionLevel: 'SOFTWARE',
        };
      }
      case 'decrypt': {
        const key = mustKey(name);
        const body = await readJson(req);
        const ciphertext = b64(body.ciphertext, 'ciphertext', true);
        const aad = b64(body.additionalAuthenticatedData, 'additional_authenticated_data', false);
        checkCrc(ciphertext, body.ciphertextCrc32c, 'ciphertextCrc32c');
        checkCrc(aad, body.additionalAuthenticatedDataCrc32c, 'additionalAuthenticatedDataCrc32c');
        const invalid = new ApiError(400, 'INVALID_ARGUMENT', 'Decryption failed: the ciphertext is invalid.');
        if (ciphertext.length < 4 + 12 + 16) throw invalid;
        const version = key.versions.find((v) => v.id === ciphertext.readUInt32BE(0));
        if (!version) throw invalid;
        mustBeEnabled(key, version);
        const decipher = createDecipheriv('aes-256-gcm', version.material, ciphertext.subarray(4, 16));
        decipher.setAAD(aad);
        decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
        let plaintext: Buffer;
        try {
          plaintext = Buffer.concat([decipher.update(ciphertext.subarray(16, ciphertext.length - 16)), decipher.final()]);
        } catch {
          throw invalid;
        }
        return { plaintext: plaintext.toString('base64'), plaintextCrc32c: crc32c(plaintext), usedPrimary: version.id === key.primary, protectionLevel: 'SOFTWARE' };
      }
      case 'updatePrimary': {
        const key = mustKey(name);
        const body = await readJson(req);
        const version = key.versions.find((v) => String(v.id) === String(body.cryptoKeyVersionId));
        if (!version) throw new ApiError(404, 'NOT_FOUND', `${key.name}/cryptoKeyVersions/${String(body.cryptoKeyVersionId)} not found.`);
        mustBeEnabled(key, version);
        key.primary = version.id;
        return keyJson(key);
      }
      case 'list': {
        const key = mustKey(name);
        const pageSize = Math.max(1, Math.min(Number(query.get('pageSize') ?? 2) || 2, 1000));
        const start = Number(query.get('pageToken') ?? 0) || 0;
        const page = key.versions.slice(start, start + pageSize);
        const next = start + pageSize < key.versions.length ? String(start + pageSize) : undefined;
        return { cryptoKeyVersions: page.map((v) => versionJson(key, v)), ...(next ? { nextPageToken: next } : {}), totalSize: key.versions.length };
      }
      case 'createVersion': {
        const key = mustKey(name);
        await readJson(req);
        const version = newVersion(Math.max(0, ...key.versions.map((v) => v.id)) + 1);
        key.versions.push(version);
        return versionJson(key, version);
      }
      case 'destroy': {
        const key = mustKey(name);
        const version = key.versions.find((v) => v.id === Number(match[2]));
        if (!version) throw new ApiError(404, 'NOT_FOUND', `${path} not found.`);
        if (version.state === 'DESTROY_SCHEDULED' || version.state === 'DESTROYED') {
          throw new ApiError(400, 'FAILED_PRECONDITION', `The request cannot be fulfilled. Resource ${versionName(key, version.id)} has value ${version.state} in field crypto_key_version.state.`);
        }
        // Cloud KMS keeps the material for the scheduled-destruction period; the stand-in wipes it at once.
        version.state = 'DESTROY_SCHEDULED';
        version.material.fill(0);
        return { ...versionJson(key, version), destroyTime: new Date(Date.now() + 86_400_000).toISOString() };
      }
      default:
        throw new ApiError(404, 'NOT_FOUND', `no such method ${method} ${path}`);
    }
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = decodeURIComponent(url.pathname.replace(/^\/v1\//, ''));
    const method = req.method ?? 'GET';
    const route = ROUTES.map((r) => ({ r, m: r.method === method ? r.pattern.exec(path) : null })).find((x) => x.m);
    const op = route?.r.op ?? 'unknown';
    const send = (status: number, body: unknown) => {
      requests.push({ method, path, op, status });
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
      res.end(JSON.stringify(body));
    };
    const fail = (err: ApiError) => send(err.code, { error: { code: err.code, message: err.message, status: err.status } });
    if (url.pathname === '/computeMetadata/v1/instance/service-accounts/default/token') {
      req.resume();
      if (req.headers['metadata-flavor'] !== 'Google') return fail(new ApiError(403, 'PERMISSION_DENIED', 'Missing Metadata-Flavor:Google header.'));
      requests.push({ method, path: url.pathname, op: 'metadataToken', status: 200 });
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ access_token: token, expires_in: 3599, token_type: 'Bearer' }));
    }
    if (req.headers.authorization !== `Bearer ${token}`) {
      req.resume();
      return fail(new ApiError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token.'));
    }
    if (throttle > 0) {
      throttle--;
      req.resume();
      return fail(new ApiError(429, 'RESOURCE_EXHAUSTED', "Quota exceeded for quota metric 'Cryptographic requests' (stand-in)."));
    }
    if (!route) {
      req.resume();
      return fail(new ApiError(404, 'NOT_FOUND', `no such method ${method} ${path}`));
    }
    handle(method, path, url.searchParams, req, op, route.m!).then(
      (body) => send(200, body),
      (err: unknown) => fail(err instanceof ApiError ? err : new ApiError(500, 'INTERNAL', 'stand-in failure')),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    token,
    requests,
    count: (op) => requests.filter((r) => r.op === op).length,
    throttleNext(n) {
      throttle = n;
    },
    deny(keyName) {
      denied.add(keyName);
    },
    versions(keyName) {
      const key = keys.get(keyName);
      return (key?.versions ?? []).map((v) => ({ name: versionName(key!, v.id), state: v.state, hasMaterial: v.material.some((b) => b !== 0) }));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
