/**
 * The starter install `claw init` writes: the local target, tenant `acme`, and agent
 * `helper` on the scripted model, so it runs offline with no API key.
 */
export const STARTER_CONFIG = `# yaml-language-server: $schema=./claw.schema.json
# A Claw BYOC install. 'claw config validate' checks this file; see README.md.
apiVersion: claw.dev/v1
name: claw
target: local            # local | aws | gcp

tenants:
  - id: acme
    name: Acme Corp
    key: { type: managed }     # or { type: byok, ref: <KMS key ARN | Cloud KMS key> }
    bucket: { type: managed }  # or { type: byob, name: <your bucket> }

agents:
  - file: agents/helper.yaml
`;

export const STARTER_AGENT = `# An agent. Apply changes with 'claw agent apply -f agents/helper.yaml'.
kind: Agent
id: helper
tenant: acme
instructions: You are a helpful assistant for Acme Corp.
# The scripted model plays these steps instead of calling a real model: it runs offline,
# with no API key, and every reply it gives is labelled [scripted].
# Switch to { provider: anthropic, model: claude-sonnet-4-5 } once the tenant has the
# secret ANTHROPIC_API_KEY ('claw secrets set --tenant acme ANTHROPIC_API_KEY').
model:
  provider: scripted
  script:
    - when: "(?i)time"
      toolCalls: [{ tool: time.now, args: {} }]
    - when: "(?i)time"
      reply: "I checked the clock for you."
    - reply: "Hello from helper! I am running on the local target."
tools:
  - time.now
  - echo
budget:
  maxSteps: 8
  maxTokens: 20000
  maxWallTime: 2m
`;
