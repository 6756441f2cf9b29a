/**
 * Entry point of the guardrail pack for the Pulumi policy engine
 * (`pulumi preview --policy-pack policies/infra`). Constructing a PolicyPack starts the
 * policy server, so nothing else imports this file; the library is index.ts.
 */
import { PolicyPack } from '@pulumi/policy';
import { PACK_NAME, guardrails } from './pack.js';

new PolicyPack(PACK_NAME, {
  description: 'Claw BYOC guardrails: customer-key encryption everywhere, no public access, key rotation, exact key policies, per-tenant key isolation, least-privilege runtime roles, gVisor-only sandbox pods.',
  enforcementLevel: 'mandatory',
  policies: await guardrails(),
});
