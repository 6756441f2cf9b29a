/**
 * The credential broker (DESIGN.md invariant 3). A tool declares the secrets it needs
 * (`tools[].secrets`, and for HTTP tools `secretHeaders`); at execution the broker reads
 * them from the tenant's SecretStore and hands them to the executor only: HTTP tools get
 * headers added here, code tools get the values inside their sandbox. The agent and the
 * model see tool names and arguments, never a value. Every lease carries a Scrubber for
 * the values it handed out.
 */
import { ClawError } from '../../core/errors.js';
import type { Tool } from '../../core/config/schema.js';
import type { SecretStore } from '../ports.js';
import { Scrubber } from './scrub.js';

export interface CredentialLease {
  /** Secret name → value: for the sandbox only. */
  readonly values: Readonly<Record<string, string>>;
  /** HTTP tools: header name → value, built from `secretHeaders`. */
  readonly headers: Readonly<Record<string, string>>;
  /** Scrubs every form of every value above from output. */
  readonly scrubber: Scrubber;
}

type ToolSecrets = Pick<Tool, 'name' | 'secrets'> & { secretHeaders?: Record<string, string> };

export class CredentialBroker {
  constructor(private readonly secrets: SecretStore) {}

  /** The secrets `tool` declares, for `tenantId`. A missing secret fails before the tool runs. */
  async lease(tenantId: string, tool: ToolSecrets): Promise<CredentialLease> {
    const names = [...new Set([...tool.secrets, ...Object.values(tool.secretHeaders ?? {})])];
    const values: Record<string, string> = {};
    const missing: string[] = [];
    await Promise.all(
      names.map(async (name) => {
        const value = await this.secrets.get(tenantId, name);
        if (value === undefined) missing.push(name);
        else values[name] = value;
      }),
    );
    if (missing.length) {
      missing.sort();
      throw new ClawError('SECRET_MISSING', `tool ${tool.name} needs secret(s) ${missing.join(', ')}, which tenant ${tenantId} does not have`, {
        hint: `set it: claw secrets set --tenant ${tenantId} ${missing[0]}`,
        details: { tool: tool.name, missing },
      });
    }
    const headers: Record<string, string> = {};
    for (const [header, secretName] of Object.entries(tool.secretHeaders ?? {})) headers[header] = values[secretName]!;
    return {
      values,
      headers,
      scrubber: new Scrubber(Object.entries(values).map(([name, value]) => ({ name, value }))),
    };
  }
}
