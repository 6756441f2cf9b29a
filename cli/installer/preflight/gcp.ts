/**
 * GCP preflight, before anything is created:
 * 1. credentials: the access token's info (oauth2 tokeninfo: who, which scopes, expiry);
 * 2. permissions: Resource Manager `projects.testIamPermissions` with the installer role's permissions;
 * 3. APIs: Service Usage, every API the install needs is enabled on the project;
 * 4. region + quotas: Compute `regions.get` (status UP; IN_USE_ADDRESSES and CPUS headroom).
 *
 * Plain REST with fetch (no Google SDK dependency); base URLs are overridable so tests run
 * against a loopback stand-in. The token comes from CLAW_GCP_ACCESS_TOKEN,
 * GOOGLE_OAUTH_ACCESS_TOKEN, or `gcloud auth print-access-token`; it is never printed.
 */
import { spawnSync } from 'node:child_process';
import type { ClawConfig } from '../../../core/config/schema.js';
import { GCP_INSTALLER_PERMISSIONS, GCP_REQUIRED_APIS } from '../installer-policy.js';
import { report, type PreflightCheck, type PreflightReport } from './report.js';

export interface GcpEndpoints {
  oauth2: string;
  resourceManager: string;
  serviceUsage: string;
  compute: string;
}

export const GCP_ENDPOINTS: GcpEndpoints = {
  oauth2: 'https://oauth2.googleapis.com',
  resourceManager: 'https://cloudresourcemanager.googleapis.com',
  serviceUsage: 'https://serviceusage.googleapis.com',
  compute: 'https://compute.googleapis.com',
};

export interface GcpPreflightOptions {
  endpoints?: Partial<GcpEndpoints>;
  token?: string;
}

export function gcpAccessToken(): string | undefined {
  const fromEnv = process.env.CLAW_GCP_ACCESS_TOKEN ?? process.env.GOOGLE_OAUTH_ACCESS_TOKEN;
  if (fromEnv) return fromEnv;
  const gcloud = spawnSync('gcloud', ['auth', 'print-access-token'], { encoding: 'utf8', timeout: 20_000 });
  return gcloud.status === 0 && gcloud.stdout.trim() ? gcloud.stdout.trim() : undefined;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

async function call<T>(url: string, token: string, body?: unknown): Promise<T> {
  const form = body instanceof URLSearchParams;
  const res = await fetch(url, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json' },
    body: body === undefined ? undefined : form ? body.toString() : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) {
    let message = text.slice(0, 200);
    try {
      message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
    } catch {
      // not JSON; keep the text
    }
    throw new HttpError(res.status, `HTTP ${res.status}: ${message}`);
  }
  return JSON.parse(text) as T;
}

export async function gcpPreflight(config: ClawConfig, options: GcpPreflightOptions = {}): Promise<PreflightReport> {
  const { project, region } = config.gcp!;
  const urls = { ...GCP_ENDPOINTS, ...options.endpoints };
  const checks: PreflightCheck[] = [];
  const token = options.token ?? gcpAccessToken();
  if (!token) {
    checks.push({
      id: 'credentials', ok: false, code: 'PF_GCP_CREDENTIALS', message: 'no GCP access token',
      hint: 'run gcloud auth login (or set CLAW_GCP_ACCESS_TOKEN in CI, e.g. from workload identity federation)',
    });
    return report('gcp', checks);
  }
  try {
    // POST keeps the token out of URLs (and so out of proxy logs).
    const info = await call<{ email?: string; scope?: string; expires_in?: string | number }>(`${urls.oauth2}/tokeninfo`, token, new URLSearchParams({ access_token: token }));
    const scopes = (info.scope ?? '').split(' ');
    if (!scopes.some((s) => s.endsWith('/auth/cloud-platform'))) {
      checks.push({ id: 'credentials', ok: false, code: 'PF_GCP_TOKEN_SCOPE', message: `the token (${info.email ?? 'unknown identity'}) lacks the cloud-platform scope`, hint: 'use a token minted with https://www.googleapis.com/auth/cloud-platform' });
      return report('gcp', checks);
    }
    checks.push({ id: 'credentials', ok: true, message: `calling as ${info.email ?? 'a service identity'} (token expires in ${info.expires_in ?? '?'}s)` });
  } catch (err) {
    checks.push({ id: 'credentials', ok: false, code: 'PF_GCP_CREDENTIALS', message: `the access token was rejected (${(err as Error).message})`, hint: 'refresh it: gcloud auth login / gcloud auth print-access-token' });
    return report('gcp', checks);
  }

  checks.push(await permissions(urls, token, project));
  checks.push(await apis(urls, token, project));
  checks.push(...(await regionAndQuotas(urls, token, project, region)));
  return report('gcp', checks);
}

async function permissions(urls: GcpEndpoints, token: string, project: string): Promise<PreflightCheck> {
  const granted = new Set<string>();
  try {
    for (let i = 0; i < GCP_INSTALLER_PERMISSIONS.length; i += 100) {
      const batch = GCP_INSTALLER_PERMISSIONS.slice(i, i + 100);
      const out = await call<{ permissions?: string[] }>(`${urls.resourceManager}/v1/projects/${project}:testIamPermissions`, token, { permissions: batch });
      for (const p of out.permissions ?? []) granted.add(p);
    }
  } catch (err) {
    return { id: 'permissions', ok: false, code: 'PF_GCP_PERMISSIONS_CHECK_FAILED', message: `cannot test permissions on project ${project} (${(err as Error).message})`, hint: 'check the project id and that the caller can see it' };
  }
  const missing = GCP_INSTALLER_PERMISSIONS.filter((p) => !granted.has(p));
  if (missing.length === 0) return { id: 'permissions', ok: true, message: `the caller has every permission of the installer role on ${project}` };
  const shown = missing.slice(0, 8).join(', ') + (missing.length > 8 ? `, … (${missing.length} in all)` : '');
  return {
    id: 'permissions', ok: false, code: 'PF_GCP_PERMISSIONS_MISSING', message: `missing on ${project}: ${shown}`,
    hint: `create the role ('claw installer-policy --target gcp > role.yaml; gcloud iam roles create clawInstaller --project ${project} --file role.yaml') and grant it to the caller`,
    details: { project, missing },
  };
}

async function apis(urls: GcpEndpoints, token: string, project: string): Promise<PreflightCheck> {
  const enabled = new Set<string>();
  try {
    let pageToken: string | undefined;
    do {
      const q = new URLSearchParams({ filter: 'state:ENABLED', pageSize: '200', ...(pageToken ? { pageToken } : {}) });
      const out = await call<{ services?: { config?: { name?: string } }[]; nextPageToken?: string }>(`${urls.serviceUsage}/v1/projects/${project}/services?${q}`, token);
      for (const s of out.services ?? []) if (s.config?.name) enabled.add(s.config.name);
      pageToken = out.nextPageToken || undefined;
    } while (pageToken);
  } catch (err) {
    return { id: 'apis', ok: false, code: 'PF_GCP_API_CHECK_FAILED', message: `cannot list enabled APIs on ${project} (${(err as Error).message})`, hint: 'enable serviceusage.googleapis.com and grant serviceusage.services.list' };
  }
  const missing = GCP_REQUIRED_APIS.filter((a) => !enabled.has(a));
  if (missing.length === 0) return { id: 'apis', ok: true, message: `${GCP_REQUIRED_APIS.length} required APIs enabled` };
  return {
    id: 'apis', ok: false, code: 'PF_GCP_API_DISABLED', message: `APIs not enabled on ${project}: ${missing.join(', ')}`,
    hint: `gcloud services enable ${missing.join(' ')} --project ${project}`,
    details: { missing },
  };
}

async function regionAndQuotas(urls: GcpEndpoints, token: string, project: string, region: string): Promise<PreflightCheck[]> {
  let info: { status?: string; quotas?: { metric: string; limit: number; usage: number }[] };
  try {
    info = await call(`${urls.compute}/compute/v1/projects/${project}/regions/${region}`, token);
  } catch (err) {
    return [{ id: 'region', ok: false, code: 'PF_GCP_REGION_CHECK_FAILED', message: `cannot read region ${region} (${(err as Error).message})`, hint: 'enable compute.googleapis.com; check gcp.region in claw.yaml' }];
  }
  const checks: PreflightCheck[] = [
    info.status === 'UP'
      ? { id: 'region', ok: true, message: `${region} is UP` }
      : { id: 'region', ok: false, code: 'PF_GCP_REGION_DOWN', message: `region ${region} reports status ${info.status ?? 'unknown'}`, hint: "pick another 'gcp.region' or retry later" },
  ];
  // Cloud NAT addresses (one per region) and the GKE system + sandbox node pools' vCPUs.
  const needs = [{ metric: 'IN_USE_ADDRESSES', need: 2 }, { metric: 'CPUS', need: 16 }];
  for (const { metric, need } of needs) {
    const q = info.quotas?.find((x) => x.metric === metric);
    if (!q) continue;
    const message = `${metric}: ${q.usage} used of ${q.limit} in ${region}; the install needs ${need}`;
    checks.push(q.limit - q.usage >= need
      ? { id: `quota:${metric.toLowerCase()}`, ok: true, message }
      : { id: `quota:${metric.toLowerCase()}`, ok: false, code: 'PF_GCP_QUOTA', message, hint: `request more ${metric} in ${region}: console.cloud.google.com/iam-admin/quotas?project=${project}`, details: { metric, limit: q.limit, usage: q.usage, need } });
  }
  return checks;
}
