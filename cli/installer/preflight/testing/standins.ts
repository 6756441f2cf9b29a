/**
 * Loopback STAND-INS for cloud APIs that no local emulator implements, used by the
 * preflight tests. They are not clouds and are named as stand-ins everywhere they appear.
 *
 * - `startIamSimulatorStandIn`: IAM `SimulatePrincipalPolicy` (moto 5 does not implement
 *   it). It speaks the IAM Query API (form-encoded request, XML response) and evaluates the
 *   principal's *real* policies read from an IAM endpoint (moto): inline and attached
 *   policies of a user or role; Allow/Deny statements with `*`/`?` wildcards on actions and
 *   resources, explicit Deny winning. Conditions, permission boundaries, SCPs and group
 *   policies are not evaluated (IAM's simulator does; the tests do not rely on them).
 * - `startGcpStandIn`: oauth2 tokeninfo, Resource Manager `projects.testIamPermissions`,
 *   Service Usage `services.list` and Compute `regions.get`, answering from a fixed
 *   description of one project (granted permissions, enabled APIs, region quotas).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRolePolicyCommand,
  GetUserPolicyCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListRolePoliciesCommand,
  ListUserPoliciesCommand,
} from '@aws-sdk/client-iam';

export interface StandIn {
  endpoint: string;
  /** Requests served, by API operation (tests assert the preflight really called them). */
  calls: string[];
  stop(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function stopper(server: Server): () => Promise<void> {
  return () => new Promise((resolve) => server.close(() => resolve()));
}

interface Statement {
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
}

const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function glob(pattern: string, value: string, caseInsensitive: boolean): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, caseInsensitive ? 'i' : '');
  return re.test(value);
}

/** IAM's core decision for one action on one resource: explicitDeny > allowed > implicitDeny. */
export function evaluate(statements: Statement[], action: string, resource: string): 'allowed' | 'explicitDeny' | 'implicitDeny' {
  const matches = (s: Statement) => {
    const actionOk = s.NotAction ? !list(s.NotAction).some((a) => glob(a, action, true)) : list(s.Action).some((a) => glob(a, action, true));
    const resourceOk = list(s.Resource ?? '*').some((r) => glob(r, resource, false));
    return actionOk && resourceOk;
  };
  if (statements.some((s) => s.Effect === 'Deny' && matches(s))) return 'explicitDeny';
  if (statements.some((s) => s.Effect === 'Allow' && matches(s))) return 'allowed';
  return 'implicitDeny';
}

function statementsOf(document: string | undefined): Statement[] {
  if (!document) return [];
  const doc = JSON.parse(decodeURIComponent(document)) as { Statement: Statement | Statement[] };
  return Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
}

/** Every statement of a user's or role's inline and attached policies, read from `iam`. */
async function principalStatements(iam: IAMClient, arn: string): Promise<Statement[]> {
  const m = /^arn:aws[a-z-]*:iam::\d{12}:(user|role)\/(?:.*\/)?([^/]+)$/.exec(arn);
  if (!m) throw Object.assign(new Error(`Invalid principal ARN ${arn}`), { code: 'InvalidInput' });
  const [, kind, name] = m as unknown as [string, 'user' | 'role', string];
  const out: Statement[] = [];
  if (kind === 'user') {
    for (const policy of (await iam.send(new ListUserPoliciesCommand({ UserName: name }))).PolicyNames ?? []) {
      out.push(...statementsOf((await iam.send(new GetUserPolicyCommand({ UserName: name, PolicyName: policy }))).PolicyDocument));
    }
  } else {
    for (const policy of (await iam.send(new ListRolePoliciesCommand({ RoleName: name }))).PolicyNames ?? []) {
      out.push(...statementsOf((await iam.send(new GetRolePolicyCommand({ RoleName: name, PolicyName: policy }))).PolicyDocument));
    }
  }
  const attached = kind === 'user'
    ? (await iam.send(new ListAttachedUserPoliciesCommand({ UserName: name }))).AttachedPolicies
    : (await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: name }))).AttachedPolicies;
  for (const policy of attached ?? []) {
    const meta = await iam.send(new GetPolicyCommand({ PolicyArn: policy.PolicyArn }));
    const version = await iam.send(new GetPolicyVersionCommand({ PolicyArn: policy.PolicyArn, VersionId: meta.Policy!.DefaultVersionId }));
    out.push(...statementsOf(version.PolicyVersion?.Document));
  }
  return out;
}

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function members(form: URLSearchParams, name: string): string[] {
  const out: string[] = [];
  for (let i = 1; form.has(`${name}.member.${i}`); i++) out.push(form.get(`${name}.member.${i}`)!);
  return out;
}

/** IAM SimulatePrincipalPolicy stand-in reading policies from `iamEndpoint` (moto). */
export async function startIamSimulatorStandIn(iamEndpoint: string): Promise<StandIn> {
  const iam = new IAMClient({ endpoint: iamEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  const calls: string[] = [];
  const server = createServer(async (req, res) => {
    const form = new URLSearchParams(await body(req));
    const action = form.get('Action') ?? '';
    calls.push(action);
    const reply = (status: number, xml: string) => {
      res.writeHead(status, { 'content-type': 'text/xml' });
      res.end(xml);
    };
    if (action !== 'SimulatePrincipalPolicy') {
      return reply(400, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>stand-in implements only SimulatePrincipalPolicy, not ${xmlEscape(action)}</Message></Error><RequestId>standin</RequestId></ErrorResponse>`);
    }
    try {
      const statements = await principalStatements(iam, form.get('PolicySourceArn') ?? '');
      const resources = members(form, 'ResourceArns');
      const results = members(form, 'ActionNames').flatMap((a) =>
        (resources.length ? resources : ['*']).map((r) => `<member><EvalActionName>${xmlEscape(a)}</EvalActionName><EvalResourceName>${xmlEscape(r)}</EvalResourceName><EvalDecision>${evaluate(statements, a, r)}</EvalDecision><MatchedStatements/><MissingContextValues/></member>`),
      );
      reply(200, `<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated><EvaluationResults>${results.join('')}</EvaluationResults></SimulatePrincipalPolicyResult><ResponseMetadata><RequestId>standin</RequestId></ResponseMetadata></SimulatePrincipalPolicyResponse>`);
    } catch (err) {
      const e = err as { name?: string; message?: string };
      reply(400, `<ErrorResponse><Error><Type>Sender</Type><Code>${e.name === 'NoSuchEntityException' ? 'NoSuchEntity' : 'InvalidInput'}</Code><Message>${xmlEscape(e.message ?? 'error')}</Message></Error><RequestId>standin</RequestId></ErrorResponse>`);
    }
  });
  return { endpoint: await listen(server), calls, stop: stopper(server) };
}

export interface GcpProjectDescription {
  token: string;
  email: string;
  project: string;
  granted: string[];
  enabledApis: string[];
  region: { name: string; status: 'UP' | 'DOWN'; quotas: { metric: string; limit: number; usage: number }[] };
}

/** GCP stand-in for the four calls preflight makes, answering for one project. */
export async function startGcpStandIn(desc: GcpProjectDescription): Promise<StandIn> {
  const calls: string[] = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://standin');
    const text = await body(req);
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    const authorized = req.headers.authorization === `Bearer ${desc.token}`;
    if (url.pathname === '/tokeninfo') {
      calls.push('tokeninfo');
      const token = new URLSearchParams(text).get('access_token');
      if (token !== desc.token) return json(400, { error: 'invalid_token', error_description: 'Invalid Value' });
      return json(200, { email: desc.email, scope: 'https://www.googleapis.com/auth/cloud-platform', expires_in: '3599' });
    }
    if (!authorized) return json(401, { error: { code: 401, message: 'Request had invalid authentication credentials.' } });
    let m = /^\/v1\/projects\/([^/:]+):testIamPermissions$/.exec(url.pathname);
    if (m && req.method === 'POST') {
      calls.push('testIamPermissions');
      if (m[1] !== desc.project) return json(403, { error: { code: 403, message: `The caller does not have permission on ${m[1]}` } });
      const asked = (JSON.parse(text) as { permissions: string[] }).permissions;
      if (asked.length > 100) return json(400, { error: { code: 400, message: 'at most 100 permissions per request' } });
      return json(200, { permissions: asked.filter((p) => desc.granted.includes(p)) });
    }
    m = /^\/v1\/projects\/([^/]+)\/services$/.exec(url.pathname);
    if (m) {
      calls.push('services.list');
      return json(200, { services: desc.enabledApis.map((name) => ({ name: `projects/123/services/${name}`, config: { name }, state: 'ENABLED' })) });
    }
    m = /^\/compute\/v1\/projects\/([^/]+)\/regions\/([^/]+)$/.exec(url.pathname);
    if (m) {
      calls.push('regions.get');
      if (m[2] !== desc.region.name) return json(404, { error: { code: 404, message: `The resource 'projects/${m[1]}/regions/${m[2]}' was not found` } });
      return json(200, { name: desc.region.name, status: desc.region.status, quotas: desc.region.quotas });
    }
    json(404, { error: { code: 404, message: `stand-in does not implement ${req.method} ${url.pathname}` } });
  });
  return { endpoint: await listen(server), calls, stop: stopper(server) };
}
