/**
 * The admin API client: openapi-fetch over the types generated from the API's OpenAPI
 * document (api-types.ts, `npm run console:api`), so a changed route breaks this build, not
 * a user's click. Errors come back as the API's { code, message, hint }.
 */
import createClient from 'openapi-fetch';
import type { components, paths } from './api-types';

export type ApiError = { code: string; message: string; hint?: string; details?: Record<string, unknown> };

export function apiClient(token: string) {
  const client = createClient<paths>({ baseUrl: location.origin });
  client.use({
    onRequest({ request }) {
      request.headers.set('authorization', `Bearer ${token}`);
      return request;
    },
  });
  return client;
}

export type Api = ReturnType<typeof apiClient>;
export type Schemas = components['schemas'];

/** The data, or throw the API's error (shown by the page as code: message — hint). */
export async function must<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (error !== undefined || !response.ok) {
    const e = (error ?? {}) as Partial<ApiError>;
    throw Object.assign(new Error(e.message ?? `the admin API answered ${response.status}`), { code: e.code ?? `HTTP_${response.status}`, hint: e.hint });
  }
  return data as T;
}
