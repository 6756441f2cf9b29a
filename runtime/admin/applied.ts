/**
 * The admin API's Cedar authorizer, kept current with what the metadata store holds besides
 * claw.yaml: the tenant policies people apply through the API. The gateway builds one at
 * start and on every claw.yaml change; before a request's admin decisions for a tenant, the
 * tenant's applied policies (name and revision) are compared with the ones its policies were
 * compiled from (one small query: MetadataStore.appliedRevisions) and reloaded when they
 * differ — another gateway replica may have changed
 * them. A reload that does not compile leaves the tenant's previous policies in force.
 */
import type { ClawConfig } from '../../core/config/schema.js';
import { CedarAuthorizer, tenantInput } from '../authz/authorizer.js';
import { appliedByTenant, appliedPolicySources } from '../authz/policies.js';
import type { MetadataStore } from '../store/metadata.js';
import type { AdminApiOptions } from './server.js';

export class AppliedAuthorizer {
  private authorizer!: CedarAuthorizer;
  private readonly compiledFrom = new Map<string, string>();

  private constructor(
    private readonly store: Pick<MetadataStore, 'listAgents' | 'agentRevisions' | 'applyAgent' | 'listPolicies' | 'policyRevisions' | 'applyPolicy' | 'appliedRevisions'>,
    private config: ClawConfig,
    private readonly configFile: string,
    private readonly log: (line: string) => void,
  ) {}

  static async open(store: AppliedAuthorizer['store'], config: ClawConfig, configFile: string, log: (line: string) => void = (l) => console.error(l)): Promise<AppliedAuthorizer> {
    const applied = new AppliedAuthorizer(store, config, configFile, log);
    await applied.rebuild(config);
    return applied;
  }

  /** A new authorizer for `config` and every tenant's applied policies (throws on invalid policies; the old one then stays). */
  async rebuild(config: ClawConfig): Promise<void> {
    const revisions = await this.store.appliedRevisions();
    const policies = await this.store.listPolicies();
    this.authorizer = CedarAuthorizer.fromConfig(config, this.configFile, {
      applied: appliedByTenant(policies),
      onQuarantine: (tenantId, problem) => this.log(`gateway: tenant ${tenantId}'s applied policies do not compile with this claw.yaml; every admin action but reading and editing policies is refused until they are fixed: ${problem}`),
    });
    this.config = config;
    this.compiledFrom.clear();
    for (const tenant of config.tenants) this.compiledFrom.set(tenant.id, revisions.get(tenant.id) ?? '');
  }

  current(): CedarAuthorizer {
    return this.authorizer;
  }

  /** Reload the tenant's policies if its applied ones changed since they were compiled. */
  async refresh(tenantId: string): Promise<void> {
    if (!this.config.tenants.some((t) => t.id === tenantId)) return;
    const now = (await this.store.appliedRevisions(tenantId)).get(tenantId) ?? '';
    if (this.compiledFrom.get(tenantId) === now) return;
    this.compiledFrom.set(tenantId, now);
    const policies = await this.store.listPolicies(tenantId);
    try {
      this.authorizer.load(tenantInput(this.config, this.configFile, tenantId, undefined, appliedPolicySources(policies)));
    } catch (err) {
      this.log(`gateway: tenant ${tenantId}'s applied policies did not reload; the previous ones stay in force: ${(err as Error).message.split('\n')[0]}`);
    }
  }

  /** The admin API options this provides. */
  adminOptions(): Pick<AdminApiOptions, 'authorizer' | 'agents' | 'policies' | 'refreshTenant'> {
    const store = this.store;
    return {
      authorizer: () => this.authorizer,
      refreshTenant: (tenantId) => this.refresh(tenantId),
      agents: {
        list: (tenantId) => store.listAgents(tenantId),
        revisions: (tenantId, agentId) => store.agentRevisions(tenantId, agentId),
        apply: (agent, appliedBy) => store.applyAgent(agent, 'admin API', appliedBy),
      },
      policies: {
        list: (tenantId) => store.listPolicies(tenantId),
        revisions: (tenantId, name) => store.policyRevisions(tenantId, name),
        apply: (tenantId, name, text, appliedBy) => store.applyPolicy(tenantId, name, text, appliedBy),
      },
    };
  }
}
