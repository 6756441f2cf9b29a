/** The cloud identities a component acts as for a tenant: an assumed role (AWS), an impersonated service account (GCP). */
import { ClawError } from '../../core/errors.js';
import { cachedAccessToken } from '../google-token.js';

type AwsCredentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date };

/** Credentials of a tenant role, assumed with the component's own identity, refreshed before they expire. */
export function tenantRoleCredentials(roleArn: string, region: string, sessionName: string): () => Promise<AwsCredentials> {
  let cached: AwsCredentials | undefined;
  let pending: Promise<AwsCredentials> | undefined;
  let sts: import('@aws-sdk/client-sts').STSClient | undefined;
  return async () => {
    if (cached?.expiration && cached.expiration.getTime() - Date.now() > 5 * 60_000) return cached;
    pending ??= (async () => {
      try {
        const { STSClient, AssumeRoleCommand } = await import('@aws-sdk/client-sts');
        sts ??= new STSClient({ region });
        const { Credentials: c } = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: sessionName, DurationSeconds: 3600 }));
        if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('AssumeRole returned no credentials');
        cached = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: c.Expiration };
        return cached;
      } catch (err) {
        throw new ClawError('TENANT_ROLE_UNAVAILABLE', `could not assume ${roleArn}: ${(err as { name?: string })?.name ?? 'error'}`, {
          hint: "the component's role must be trusted by the tenant role (the stack sets this up; run 'claw upgrade')",
          details: { roleArn },
        });
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };
}

export const IAM_CREDENTIALS_URL = 'https://iamcredentials.googleapis.com';

/** An access token of `serviceAccount`, minted with `base` (the component's own token) through the IAM Credentials API. */
export function impersonatedToken(serviceAccount: string, base: () => Promise<string>, baseUrl = IAM_CREDENTIALS_URL): () => Promise<string> {
  return cachedAccessToken(async () => {
    const response = await fetch(`${baseUrl.replace(/\/+$/, '')}/v1/projects/-/serviceAccounts/${encodeURIComponent(serviceAccount)}:generateAccessToken`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await base()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ scope: ['https://www.googleapis.com/auth/cloud-platform'], lifetime: '3600s' }),
    });
    if (!response.ok) {
      throw new ClawError('TENANT_IDENTITY_UNAVAILABLE', `could not impersonate ${serviceAccount} (HTTP ${response.status})`, {
        hint: "the component's service account needs roles/iam.serviceAccountTokenCreator on the tenant's (the stack grants it; run 'claw upgrade')",
        details: { serviceAccount, status: response.status },
      });
    }
    const body = (await response.json()) as { accessToken?: string; expireTime?: string };
    if (!body.accessToken) throw new ClawError('TENANT_IDENTITY_UNAVAILABLE', `impersonating ${serviceAccount} returned no token`, { details: { serviceAccount } });
    // Renewed five minutes before it expires.
    const expires = body.expireTime ? Date.parse(body.expireTime) : Date.now() + 3_600_000;
    return { token: body.accessToken, expiresAt: expires - 5 * 60_000 };
  });
}

