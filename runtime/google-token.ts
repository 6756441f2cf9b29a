/** Google access tokens (metadata server, IAM Credentials impersonation): one cache for every source. */

/**
 * An access-token provider that caches what `mint` returns until `expiresAt`, and lets
 * concurrent callers share one request in flight. Shared by every Google token source.
 */
export function cachedAccessToken(mint: () => Promise<{ token: string; expiresAt: number }>): () => Promise<string> {
  let cached: { token: string; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;
  return async () => {
    if (cached && Date.now() < cached.expiresAt) return cached.token;
    pending ??= mint()
      .then((minted) => {
        cached = minted;
        return minted.token;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}
