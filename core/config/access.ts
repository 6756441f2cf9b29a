/**
 * What people (and the API keys they create) may do to a tenant's platform: the admin
 * actions Cedar authorizes for `User` and `ApiKey` principals (DESIGN.md "People, not only
 * agents"). One table, read by the config schema (a role's `can:`), the Cedar schema and
 * role policies (policies/cedar/compile.ts) and the admin API (runtime/admin).
 *
 * Each action names the kind of resource it acts on, so a tenant policy can narrow it:
 * `decideApproval` is on the parked call's Tool (an approver of `gmail.*` only), run and
 * trace actions on the run's Agent, secret writes on the Secret, the rest on the Tenant.
 */
export type AdminResource = 'Tenant' | 'Agent' | 'Tool' | 'Secret';

export interface AdminActionSpec {
  resource: AdminResource;
  /** Reads change nothing; a role given `read` holds every one of them. */
  read: boolean;
  summary: string;
}

export const ADMIN_ACTIONS = {
  listRuns: { resource: 'Agent', read: true, summary: "list an agent's runs and their parked tool calls" },
  readTrace: { resource: 'Agent', read: true, summary: "read a run's trace metadata (steps, tools, decisions, tokens)" },
  decryptTrace: { resource: 'Agent', read: false, summary: "decrypt a run's content (prompts, tool arguments, replies); each decryption is audited" },
  decideApproval: { resource: 'Tool', read: false, summary: 'approve or deny a parked tool call' },
  cancelRun: { resource: 'Agent', read: false, summary: 'cancel a running run' },
  readAgent: { resource: 'Agent', read: true, summary: "read an agent's definition" },
  applyAgent: { resource: 'Agent', read: false, summary: 'create or change an agent' },
  readPolicy: { resource: 'Tenant', read: true, summary: "read the tenant's policies and explain a decision" },
  editPolicy: { resource: 'Tenant', read: false, summary: "change the tenant's policies" },
  listSecrets: { resource: 'Tenant', read: true, summary: 'list secret names and when they changed (never values)' },
  setSecret: { resource: 'Secret', read: false, summary: 'set or remove a secret' },
  readKey: { resource: 'Tenant', read: true, summary: "read the tenant key's status and versions" },
  rotateKey: { resource: 'Tenant', read: false, summary: "rotate the tenant's key" },
  shredKey: { resource: 'Tenant', read: false, summary: "destroy the tenant's key (its data becomes unreadable)" },
  readAudit: { resource: 'Tenant', read: true, summary: 'read and verify the audit log' },
  manageApiKeys: { resource: 'Tenant', read: false, summary: 'create, list and revoke service API keys' },
  manageUsers: { resource: 'Tenant', read: false, summary: 'provision and deprovision people (SCIM)' },
} as const satisfies Record<string, AdminActionSpec>;

export type AdminAction = keyof typeof ADMIN_ACTIONS;
export const ADMIN_ACTION_NAMES = Object.keys(ADMIN_ACTIONS) as AdminAction[];

/** A role's `can:` entry: an admin action, `read` (every read action) or `all`. */
export const ROLE_GRANTS = ['all', 'read', ...ADMIN_ACTION_NAMES] as const;
export type RoleGrant = (typeof ROLE_GRANTS)[number];

/** The Cedar action groups: every admin action is in `admin`, reads also in `adminRead`. */
export const ADMIN_GROUP = 'admin';
export const ADMIN_READ_GROUP = 'adminRead';

export function isAdminAction(name: string): name is AdminAction {
  return Object.prototype.hasOwnProperty.call(ADMIN_ACTIONS, name);
}

/** The admin actions a role's `can:` grants. */
export function grantedActions(can: readonly RoleGrant[]): Set<AdminAction> {
  if (can.includes('all')) return new Set(ADMIN_ACTION_NAMES);
  return new Set(ADMIN_ACTION_NAMES.filter((a) => can.includes(a) || (can.includes('read') && ADMIN_ACTIONS[a].read)));
}
