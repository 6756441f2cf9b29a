/**
 * SecretStore over OpenBao/Vault KV v2 (HTTP API). Tenants are isolated by a KV mount per
 * tenant (`claw-<tenant>/`) or by a namespace per tenant (`X-Vault-Namespace: claw/<tenant>`,
 * OpenBao namespaces / Vault Enterprise), so a Vault policy can grant a tenant's paths only.
 *
 * Values are still envelope-encrypted under the tenant's key before they reach Vault: the
 * Vault barrier key is not the tenant's, and shredding a tenant must make its secrets
 * unreadable wherever they are stored.
 */
import { readFileSync } from 'node:fs';
import { ClawError } from '../../core/errors.js';
import type { SecretStore, TenantKeyring } from '../ports.js';
import { checkSecretName, sealable, unsealed } from './names.js';

export type VaultAuth =
  | { kind: 'token'; token: string }
  /** Kubernetes auth: the pod's service-account token, exchanged for a Vault token. */
  | { kind: 'kubernetes'; role: string; mount?: string; jwtPath?: string };

/**
 * Where a tenant's secrets live:
 *  - `mount`: a KV mount per tenant (`claw-<tenant>/`);
 *  - `namespace`: a namespace per tenant (`X-Vault-Namespace: claw/<tenant>`);
 *  - `path`: one KV mount, a path per tenant (`<mount>/data/<tenant>/<name>`): what the
 *    stacks' OpenBao has (components/k8s/openbao.ts), one runtime role for the mount, so
 *    the tenant boundary is the tenant's key on every value.
 */
export type VaultLayout = { kind: 'mount'; prefix?: string } | { kind: 'namespace'; parent?: string; mount?: string } | { kind: 'path'; mount: string };

export interface VaultOptions {
  /** e.g. http://openbao.openbao.svc.cluster.local:8200 */
  address: string;
  auth: VaultAuth;
  layout?: VaultLayout;
  keyring: TenantKeyring;
  timeoutMs?: number;
}

export class VaultSecretStore implements SecretStore {
  private token?: string;
  private readonly layout: VaultLayout;

  constructor(private readonly options: VaultOptions) {
    this.layout = options.layout ?? { kind: 'mount', prefix: 'claw-' };
    if (options.auth.kind === 'token') this.token = options.auth.token;
  }

  /** Mount, namespace and path prefix holding a tenant's secrets. */
  location(tenantId: string): { mount: string; namespace?: string; prefix: string } {
    if (this.layout.kind === 'mount') return { mount: `${this.layout.prefix ?? 'claw-'}${tenantId}`, prefix: '' };
    if (this.layout.kind === 'path') return { mount: this.layout.mount, prefix: `${tenantId}/` };
    return { mount: this.layout.mount ?? 'secret', namespace: `${this.layout.parent ?? 'claw'}/${tenantId}`, prefix: '' };
  }

  private path(tenantId: string, kind: 'data' | 'metadata', name = ''): string {
    const { mount, prefix } = this.location(tenantId);
    return `/v1/${mount}/${kind}/${prefix}${name ? encodeURIComponent(name) : ''}`;
  }

  private async login(): Promise<string> {
    if (this.token) return this.token;
    const auth = this.options.auth;
    if (auth.kind !== 'kubernetes') throw new Error('unreachable');
    const jwt = readFileSync(auth.jwtPath ?? '/var/run/secrets/kubernetes.io/serviceaccount/token', 'utf8').trim();
    const response = await this.raw('POST', `/v1/auth/${auth.mount ?? 'kubernetes'}/login`, undefined, { role: auth.role, jwt });
    if (response.status !== 200) throw this.failure(response.status, 'login');
    const body = (await response.json()) as { auth?: { client_token?: string } };
    if (!body.auth?.client_token) throw this.failure(500, 'login');
    this.token = body.auth.client_token;
    return this.token;
  }

  private async raw(method: string, path: string, namespace: string | undefined, body?: unknown, token?: string): Promise<Response> {
    const headers: Record<string, string> = {};
    if (token) headers['X-Vault-Token'] = token;
    if (namespace) headers['X-Vault-Namespace'] = namespace;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    try {
      return await fetch(new URL(path, this.options.address), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    } catch (err) {
      throw new ClawError('SECRET_BACKEND_UNAVAILABLE', `cannot reach the secret backend at ${this.options.address}`, {
        hint: 'check that OpenBao/Vault is running and unsealed, and the address (OPENBAO_ADDR)',
        cause: err,
      });
    }
  }

  private async call(tenantId: string, method: string, path: string, body?: unknown): Promise<Response> {
    const { namespace } = this.location(tenantId);
    let response = await this.raw(method, path, namespace, body, await this.login());
    if (response.status === 403 && this.options.auth.kind === 'kubernetes') {
      // The Vault token may have expired: log in once more.
      this.token = undefined;
      response = await this.raw(method, path, namespace, body, await this.login());
    }
    return response;
  }

  private failure(status: number, what: string, tenantId?: string): ClawError {
    if (status === 403) {
      return new ClawError('SECRET_BACKEND_DENIED', `the secret backend denied ${what}${tenantId ? ` for tenant '${tenantId}'` : ''}`, {
        hint: "check the Vault policy of this service's role: it must allow the tenant's KV mount",
      });
    }
    return new ClawError('SECRET_BACKEND_ERROR', `the secret backend answered ${status} to ${what}`, { hint: 'see the OpenBao/Vault server log' });
  }

  async get(tenantId: string, name: string): Promise<string | undefined> {
    checkSecretName(name);
    const response = await this.call(tenantId, 'GET', this.path(tenantId, 'data', name));
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw this.failure(response.status, `reading secret '${name}'`, tenantId);
    const body = (await response.json()) as { data?: { data?: { ct?: string } } };
    const ct = body.data?.data?.ct;
    if (typeof ct !== 'string') throw new ClawError('CIPHERTEXT_CORRUPT', `secret '${name}' in Vault was not written by claw`, { hint: 'set it with `claw secrets set`' });
    const crypto = await this.options.keyring.forTenant(tenantId);
    return unsealed(name, await crypto.decrypt(Buffer.from(ct, 'base64'), 'secret'));
  }

  async set(tenantId: string, name: string, value: string): Promise<void> {
    checkSecretName(name);
    const crypto = await this.options.keyring.forTenant(tenantId);
    const ct = Buffer.from(await crypto.encrypt(sealable(name, value), 'secret')).toString('base64');
    const response = await this.call(tenantId, 'POST', this.path(tenantId, 'data', name), { data: { ct } });
    if (response.status !== 200 && response.status !== 204) throw this.failure(response.status, `writing secret '${name}'`, tenantId);
  }

  async list(tenantId: string): Promise<string[]> {
    const response = await this.call(tenantId, 'GET', `${this.path(tenantId, 'metadata')}?list=true`);
    if (response.status === 404) return [];
    if (response.status !== 200) throw this.failure(response.status, 'listing secrets', tenantId);
    const body = (await response.json()) as { data?: { keys?: string[] } };
    return (body.data?.keys ?? []).filter((k) => !k.endsWith('/')).sort();
  }

  /** KV v2 keeps each secret's metadata, with the time its current version was written. */
  async listChanged(tenantId: string): Promise<{ name: string; updatedAt: string }[]> {
    const out: { name: string; updatedAt: string }[] = [];
    for (const name of await this.list(tenantId)) {
      const response = await this.call(tenantId, 'GET', this.path(tenantId, 'metadata', name));
      if (response.status === 404) continue;
      if (response.status !== 200) throw this.failure(response.status, 'reading secret metadata', tenantId);
      const body = (await response.json()) as { data?: { updated_time?: string } };
      out.push({ name, updatedAt: body.data?.updated_time ? new Date(body.data.updated_time).toISOString() : '' });
    }
    return out;
  }

  async remove(tenantId: string, name: string): Promise<boolean> {
    checkSecretName(name);
    const existing = await this.call(tenantId, 'GET', this.path(tenantId, 'metadata', name));
    if (existing.status === 404) return false;
    // Deleting the metadata removes every version, not only the latest.
    const response = await this.call(tenantId, 'DELETE', this.path(tenantId, 'metadata', name));
    if (response.status !== 204 && response.status !== 200) throw this.failure(response.status, `deleting secret '${name}'`, tenantId);
    return true;
  }

  async reencrypt(tenantId: string): Promise<number> {
    const names = await this.list(tenantId);
    for (const name of names) {
      const value = await this.get(tenantId, name);
      if (value !== undefined) await this.set(tenantId, name, value);
    }
    return names.length;
  }

  async close(): Promise<void> {}
}
