/**
 * A deny-by-default Authorizer that allows exactly the tools an agent's file grants.
 * It is the fallback until CAPABILITY's Cedar authorizer (runtime/authz) is wired into
 * the worker; it explains each decision the same way (determining policy ids).
 */
import { grantName } from '../../core/config/load.js';
import type { AuthorizationDecision, Authorizer, ToolCallRequest } from '../ports.js';
import type { MetadataStore } from '../store/metadata.js';

export class GrantAuthorizer implements Authorizer {
  constructor(private readonly store: Pick<MetadataStore, 'getAgent'>) {}

  async authorize(request: ToolCallRequest): Promise<AuthorizationDecision> {
    const agent = await this.store.getAgent(request.tenantId, request.agentId);
    const grant = agent?.spec.tools.find((g) => grantName(g) === request.tool);
    if (!grant) {
      return { decision: 'deny', requiresApproval: false, determining: [{ id: 'default-deny', annotations: { reason: `agent '${request.agentId}' is not granted '${request.tool}'` } }], errors: [] };
    }
    const approval = typeof grant === 'object' && grant.approval === 'required';
    return {
      decision: 'allow',
      requiresApproval: approval,
      determining: [{ id: `grant:${request.agentId}:${request.tool}`, annotations: approval ? { approval: 'required' } : {} }],
      errors: [],
    };
  }
}
