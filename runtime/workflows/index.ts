/** The workflows the tenant workers register (the bundle's entry point). */
export { agentRun } from './agent-run.js';
export { conversation } from './conversation.js';
