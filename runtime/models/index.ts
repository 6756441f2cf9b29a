/**
 * The adapter for an agent's model. API keys come from the tenant's SecretStore at call
 * time, never from arguments, config or logs.
 */
import type { Model } from '../../core/config/schema.js';
import type { SecretStore } from '../ports.js';
import { anthropicAdapter } from './anthropic.js';
import { ModelError } from './errors.js';
import { openaiAdapter } from './openai.js';
import { scriptedAdapter } from './scripted.js';
import type { ModelAdapter } from './types.js';

export * from './types.js';
export { ModelError } from './errors.js';

export interface ModelContext {
  tenantId: string;
  secrets: SecretStore;
  fetch?: typeof fetch;
}

async function apiKey(ctx: ModelContext, name: string, provider: string): Promise<string> {
  const value = await ctx.secrets.get(ctx.tenantId, name);
  if (!value) {
    throw new ModelError('MODEL_API_KEY_MISSING', `tenant '${ctx.tenantId}' has no secret '${name}' for the ${provider} model`, {
      hint: `set it with 'claw secrets set --tenant ${ctx.tenantId} ${name}'`,
      retryable: false,
    });
  }
  return value;
}

export async function modelAdapterFor(model: Model, ctx: ModelContext): Promise<ModelAdapter> {
  switch (model.provider) {
    case 'scripted':
      return scriptedAdapter(model.script);
    case 'anthropic':
      return anthropicAdapter({ model: model.model, baseUrl: model.baseUrl, maxTokens: model.maxTokens, apiKey: await apiKey(ctx, model.apiKeySecret, 'anthropic'), fetch: ctx.fetch });
    case 'openai':
      return openaiAdapter({ model: model.model, baseUrl: model.baseUrl, maxTokens: model.maxTokens, apiKey: await apiKey(ctx, model.apiKeySecret, 'openai'), fetch: ctx.fetch });
  }
}
