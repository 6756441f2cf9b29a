/**
 * The Kubernetes sandbox against a loopback HTTP server that speaks the slice of the
 * Kubernetes API the backend uses. It is a stand-in: no Kubernetes API server runs on
 * the CI machine, so scheduling, gVisor and NetworkPolicy enforcement are not exercised
 * here — the objects that ask for them are, exactly as sent.
 */
import * as k8s from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_NAMESPACE, SANDBOX_TAINT } from '../../contracts/kubernetes.js';
import { KubernetesSandbox, openSealedResult, SEAL_RUNNER, sandboxName, sandboxNetworkPolicy, sandboxPod, sandboxSecret, type KubernetesJob } from './kubernetes.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const KEY = randomBytes(32);

/** The tool the stand-in's "kubelet" runs: echoes its arguments, says on stderr whether it saw the result key, exits as asked. */
const ECHO_TOOL = ['node', '-e', "const a = JSON.parse(process.env.CLAW_ARGS); console.error('result key visible: ' + ('CLAW_RESULT_KEY' in process.env)); process.stdout.write(JSON.stringify({ echo: a })); process.exitCode = a.exit ?? 0"];

/**
 * Run a container as a kubelet would (its command, env and envFrom Secret), on this
 * machine without a sandbox: the image's /app is this repository. Resolves to the log.
 */
function runContainer(container: k8s.V1Container, secretData: Record<string, string>): Promise<{ code: number; log: string }> {
  const [command, ...args] = container.command!.map((a) => (a.startsWith('/app/') ? REPO + a.slice('/app/'.length) : a));
  const env = { PATH: process.env.PATH!, ...Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? ''])), ...secretData };
  return new Promise((resolve) => {
    const child = spawn(command === 'node' ? process.execPath : command!, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    child.on('close', (code) => resolve({ code: code ?? 1, log }));
  });
}

const job: KubernetesJob = {
  tenantId: 'acme',
  tool: 'shell.wc',
  callId: 'run-1/2/call-1',
  image: 'registry.example/claw-sandbox@sha256:' + 'a'.repeat(64),
  command: ECHO_TOOL,
  args: { text: 'hello' },
  secrets: { API_TOKEN: 'tok-123' },
  memoryMb: 128,
  timeoutMs: 5_000,
};

describe('sandbox objects (pure)', () => {
  const pod = sandboxPod(job);
  const spec = pod.spec!;
  const container = spec.containers[0]!;

  it('runs on the sandbox pool under gVisor, tolerating its taint', () => {
    expect(spec.runtimeClassName).toBe('gvisor');
    expect(spec.nodeSelector).toEqual({ 'claw.dev/pool': 'sandbox' });
    expect(spec.tolerations).toEqual([{ key: SANDBOX_TAINT.key, operator: 'Equal', value: 'gvisor', effect: 'NoSchedule' }]);
    expect(pod.metadata!.namespace).toBe(SANDBOX_NAMESPACE);
  });

  it('has no service-account token, no host namespaces, and runs non-root with nothing to escalate', () => {
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.serviceAccountName).toBeUndefined();
    expect([spec.hostNetwork, spec.hostPID, spec.hostIPC]).toEqual([false, false, false]);
    expect(spec.enableServiceLinks).toBe(false);
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false, capabilities: { drop: ['ALL'] } });
    expect(spec.volumes!.every((v) => v.emptyDir && !('hostPath' in v && v.hostPath))).toBe(true);
  });

  it('limits CPU, memory, disk and time', () => {
    expect(container.resources!.limits).toEqual({ cpu: '500m', memory: '128Mi', 'ephemeral-storage': '64Mi' });
    expect(spec.activeDeadlineSeconds).toBe(5);
    expect(spec.restartPolicy).toBe('Never');
  });

  it('keeps secret values, the arguments and the result key out of the pod spec: all come from the per-call Secret', () => {
    const withArgs = { ...job, args: { query: 'the customer list' } };
    expect(JSON.stringify(sandboxPod(withArgs))).not.toMatch(/tok-123|customer list/);
    expect(container.envFrom).toEqual([{ secretRef: { name: sandboxName(job) } }]);
    const key = KEY.toString('base64');
    expect(sandboxSecret(withArgs, KEY).stringData).toEqual({ API_TOKEN: 'tok-123', CLAW_ARGS: '{"query":"the customer list"}', CLAW_RESULT_KEY: key });
    expect(sandboxSecret({ ...job, secrets: {} }, KEY).stringData).toEqual({ CLAW_ARGS: JSON.stringify(job.args ?? {}), CLAW_RESULT_KEY: key });
    expect(JSON.stringify(sandboxPod(job))).not.toContain(key);
    for (const reserved of ['CLAW_ARGS', 'CLAW_RESULT_KEY', 'CLAW_CALL']) {
      expect(() => sandboxSecret({ ...job, secrets: { [reserved]: 'x' } }, KEY)).toThrow(new RegExp(`cannot be named ${reserved}`));
    }
  });

  it("runs the tool under seal-output.mjs, bound to the call's name", () => {
    expect(container.command).toEqual(['node', SEAL_RUNNER, ...job.command]);
    expect(container.env).toContainEqual({ name: 'CLAW_CALL', value: sandboxName(job) });
  });

  it('opens no egress without a grant (the namespace default-deny stands) and only the granted CIDRs with one', () => {
    expect(sandboxNetworkPolicy(job)).toBeUndefined();
    expect(spec.dnsPolicy).toBe('None');
    const policy = sandboxNetworkPolicy({ ...job, egressCidrs: ['140.82.112.0/20'] })!;
    expect(policy.spec!.podSelector).toEqual({ matchLabels: { 'claw.dev/call': sandboxName(job) } });
    expect(policy.spec!.policyTypes).toEqual(['Egress']);
    expect(policy.spec!.egress![1]).toEqual({ to: [{ ipBlock: { cidr: '140.82.112.0/20' } }], ports: [{ protocol: 'TCP', port: 443 }] });
    expect(policy.spec!.ingress).toBeUndefined();
  });

  it('names objects per call, stable across retries, DNS-safe, with sanitised labels', () => {
    expect(sandboxName(job)).toBe(sandboxName({ ...job }));
    expect(sandboxName(job)).not.toBe(sandboxName({ ...job, callId: 'run-1/2/call-2' }));
    expect(sandboxName(job)).toMatch(/^[a-z0-9-]{1,63}$/);
    expect(sandboxPod({ ...job, tool: 'a/b c' }).metadata!.labels!['claw.dev/tool']).toBe('a_b_c');
  });
});

/** The stand-in API server: records every request; pods go Pending → Running → <final> on reads. */
interface StandIn {
  app: FastifyInstance;
  requests: { method: string; url: string; body?: unknown; auth?: string }[];
  objects: Map<string, unknown>;
  /** Overrides the phase the container's exit gives (e.g. 'Failed' for an evicted pod). */
  finalPhase?: string;
  failCreatePod: boolean;
  /** Served as every pod's log instead of what its container printed (an attacker's or a wrong image's). */
  forgedLog?: string;
  /** The logs the containers printed, by pod name: what anyone allowed to read pod logs sees. */
  logs: Map<string, string>;
}

async function startStandIn(): Promise<StandIn & { url: string }> {
  const app = Fastify();
  const state: StandIn = { app, requests: [], objects: new Map(), failCreatePod: false, logs: new Map() };
  const reads = new Map<string, number>();
  const running = new Map<string, Promise<{ code: number; log: string }>>();
  // client-node sends DELETE with an empty JSON body; the real API server accepts that.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, body ? JSON.parse(body as string) : undefined);
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.addHook('onRequest', async (req) => {
    state.requests.push({ method: req.method, url: req.url.split('?')[0]!, auth: req.headers.authorization });
  });
  app.addHook('preHandler', async (req) => {
    state.requests[state.requests.length - 1]!.body = req.body;
  });
  const create = (kind: string) => async (req: { params: unknown; body: unknown }, reply: { code: (n: number) => { send: (b: unknown) => unknown } }) => {
    const { ns } = req.params as { ns: string };
    const body = req.body as { metadata: { name: string } };
    if (kind === 'pods' && state.failCreatePod) return reply.code(403).send({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'pods is forbidden: quota exceeded', reason: 'Forbidden', code: 403 });
    state.objects.set(`${kind}/${ns}/${body.metadata.name}`, body);
    if (kind === 'pods') {
      // The "kubelet": runs the container with its Secret's data as envFrom.
      const pod = body as k8s.V1Pod;
      const secret = state.objects.get(`secrets/${ns}/${pod.spec!.containers[0]!.envFrom![0]!.secretRef!.name}`) as { stringData: Record<string, string> } | undefined;
      const run = runContainer(pod.spec!.containers[0]!, secret?.stringData ?? {});
      running.set(body.metadata.name, run);
      void run.then(({ log }) => state.logs.set(body.metadata.name, log));
    }
    return reply.code(201).send(body);
  };
  const remove = (kind: string) => async (req: { params: unknown }) => {
    const { ns, name } = req.params as { ns: string; name: string };
    state.objects.delete(`${kind}/${ns}/${name}`);
    return { kind: 'Status', apiVersion: 'v1', status: 'Success' };
  };
  app.post('/api/v1/namespaces/:ns/pods', create('pods'));
  app.post('/api/v1/namespaces/:ns/secrets', create('secrets'));
  app.post('/apis/networking.k8s.io/v1/namespaces/:ns/networkpolicies', create('networkpolicies'));
  app.delete('/api/v1/namespaces/:ns/pods/:name', remove('pods'));
  app.delete('/api/v1/namespaces/:ns/secrets/:name', remove('secrets'));
  app.delete('/apis/networking.k8s.io/v1/namespaces/:ns/networkpolicies/:name', remove('networkpolicies'));
  app.get('/api/v1/namespaces/:ns/pods/:name', async (req, reply) => {
    const { ns, name } = req.params as { ns: string; name: string };
    const pod = state.objects.get(`pods/${ns}/${name}`) as Record<string, unknown> | undefined;
    if (!pod) return reply.code(404).send({ kind: 'Status', code: 404, reason: 'NotFound', message: 'not found' });
    const n = (reads.get(name) ?? 0) + 1;
    reads.set(name, n);
    if (n <= 2) return { ...pod, status: { phase: n === 1 ? 'Pending' : 'Running' } };
    const { code } = await running.get(name)!;
    return { ...pod, status: { phase: state.finalPhase ?? (code === 0 ? 'Succeeded' : 'Failed') } };
  });
  app.get('/api/v1/namespaces/:ns/pods/:name/log', async (req, reply) => {
    const { name } = req.params as { ns: string; name: string };
    const { log } = await running.get(name)!;
    return reply.type('text/plain').send(state.forgedLog ?? log);
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return Object.assign(state, { url });
}

describe('KubernetesSandbox against a loopback stand-in for the Kubernetes API', () => {
  let standIn: Awaited<ReturnType<typeof startStandIn>>;
  let sandbox: KubernetesSandbox;

  beforeAll(async () => {
    standIn = await startStandIn();
    const kubeConfig = new k8s.KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: 'stand-in', server: standIn.url, skipTLSVerify: true }],
      users: [{ name: 'worker', token: 'stand-in-token' }],
      contexts: [{ name: 'stand-in', cluster: 'stand-in', user: 'worker' }],
      currentContext: 'stand-in',
    });
    sandbox = new KubernetesSandbox({ kubeConfig, pollMs: 5 });
  });
  afterAll(() => standIn.app.close());

  it('creates the Secret, NetworkPolicy and Pod exactly as specified, reads the result, and deletes everything', async () => {
    standIn.requests.length = 0;
    const withEgress = { ...job, egressCidrs: ['140.82.112.0/20'] };
    const out = await sandbox.run(withEgress);
    expect(out).toMatchObject({ ok: true, value: { echo: { text: 'hello' } }, phase: 'Succeeded' });
    const writes = standIn.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.url}`);
    const name = sandboxName(job);
    expect(writes.slice(0, 3)).toEqual([
      `POST /api/v1/namespaces/${SANDBOX_NAMESPACE}/secrets`,
      `POST /apis/networking.k8s.io/v1/namespaces/${SANDBOX_NAMESPACE}/networkpolicies`,
      `POST /api/v1/namespaces/${SANDBOX_NAMESPACE}/pods`,
    ]);
    expect(writes.slice(3).sort()).toEqual([
      `DELETE /api/v1/namespaces/${SANDBOX_NAMESPACE}/pods/${name}`,
      `DELETE /api/v1/namespaces/${SANDBOX_NAMESPACE}/secrets/${name}`,
      `DELETE /apis/networking.k8s.io/v1/namespaces/${SANDBOX_NAMESPACE}/networkpolicies/${name}`,
    ]);
    const sentPod = standIn.requests.find((r) => r.method === 'POST' && r.url.endsWith('/pods'))!.body;
    expect(sentPod).toEqual(JSON.parse(JSON.stringify(sandboxPod(withEgress))));
    expect(standIn.requests.every((r) => r.auth === 'Bearer stand-in-token')).toBe(true);
    expect(standIn.objects.size).toBe(0);
  });

  it('the pod log holds ciphertext only: not the arguments, the output, its stderr or the key', async () => {
    const secretJob = { ...job, callId: 'run-1/5/call-1', args: { text: 'the merger memo' } };
    const out = await sandbox.run(secretJob);
    expect(out).toMatchObject({ ok: true, value: { echo: { text: 'the merger memo' } }, logs: 'result key visible: false\n' });
    const log = standIn.logs.get(sandboxName(secretJob))!;
    expect(log).toMatch(/^claw-sealed-v1 \S+ \S+\n$/);
    expect(log).not.toMatch(/merger|echo|result key/);
    // Another call's key (or this key for another call) does not open it.
    expect(openSealedResult(log, randomBytes(32), sandboxName(secretJob))).toBeUndefined();
  });

  it("a tool that fails: SANDBOX_EXIT with its exit code and its (unsealed) stderr", async () => {
    const out = await sandbox.run({ ...job, callId: 'run-1/3/call-1', args: { exit: 3 } });
    expect(out).toMatchObject({ ok: false, phase: 'Failed', logs: 'result key visible: false\n', error: { code: 'SANDBOX_EXIT', message: expect.stringContaining('code 3') } });
    expect(standIn.objects.size).toBe(0);
  });

  it('a pod that failed after its tool succeeded (evicted) is still a failure', async () => {
    standIn.finalPhase = 'Failed';
    const out = await sandbox.run({ ...job, callId: 'run-1/3/call-2' });
    standIn.finalPhase = undefined;
    expect(out).toMatchObject({ ok: false, phase: 'Failed', error: { code: 'SANDBOX_EXIT' } });
  });

  it('a log without a result sealed under the call key is refused, and its clear text is not passed on', async () => {
    // What a sandbox image without seal-output.mjs prints, or a forged log line.
    standIn.forgedLog = '{"echo":{"text":"forged"}}\n';
    const clear = await sandbox.run({ ...job, callId: 'run-1/6/call-1' });
    standIn.forgedLog = `claw-sealed-v1 ${randomBytes(12).toString('base64')} ${randomBytes(64).toString('base64')}\n`;
    const wrongKey = await sandbox.run({ ...job, callId: 'run-1/6/call-2' });
    standIn.forgedLog = undefined;
    for (const out of [clear, wrongKey]) {
      expect(out).toMatchObject({ ok: false, logs: '', error: { code: 'SANDBOX_RESULT_UNSEALED' } });
      expect(JSON.stringify(out)).not.toContain('forged');
    }
    expect(standIn.objects.size).toBe(0);
  });

  it('turns an API refusal into one clear error and deletes what it created', async () => {
    standIn.failCreatePod = true;
    const out = await sandbox.run({ ...job, callId: 'run-1/4/call-1' });
    standIn.failCreatePod = false;
    expect(out.ok).toBe(false);
    expect(out.error?.code).toBe('SANDBOX_KUBERNETES');
    expect(out.error?.message).not.toContain('tok-123');
    expect(standIn.objects.size).toBe(0);
  });
});
