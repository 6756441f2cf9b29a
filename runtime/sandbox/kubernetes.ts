/**
 * Program tools in the cloud: one pod per call on the sandbox node pool (DESIGN.md
 * invariant 4). The objects are pure functions of the call (tested exhaustively); the
 * API calls go through `@kubernetes/client-node`.
 *
 * A call creates: a Secret holding the call's arguments (`CLAW_ARGS`) and the tool's
 * secrets — the pod spec names it and holds neither, so the arguments are not readable by
 * anyone who can list pods or read the API server's audit log of pod specs — a NetworkPolicy
 * opening the granted egress (when it has any; the namespace's default-deny policies,
 * made by components/k8s, close everything else), and the Pod: gVisor RuntimeClass, the
 * sandbox pool's node selector and toleration, no service-account token, non-root,
 * read-only root file system, all capabilities dropped, CPU/memory/ephemeral limits and
 * an active deadline. The pod's first process is seal-output.mjs: it runs the tool and
 * prints the tool's stdout, stderr and exit code as one line sealed (AES-256-GCM) under a
 * key made for this call alone and carried in the call's Secret, so the pod log — readable
 * to whoever may read the sandbox namespace's logs, and kept on the node until the pod is
 * deleted — holds ciphertext only. Everything is deleted afterwards.
 *
 * NetworkPolicy matches IPs, not host names: the executor resolves the granted hosts to
 * CIDRs at call time (egress-proxy.ts `egressCidrs`), refusing internal answers as the local egress proxy
 * does. A name-based egress proxy in the cluster is not built.
 */
import * as k8s from '@kubernetes/client-node';
import { createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { SANDBOX_NAMESPACE, sandboxPodScheduling } from '../../contracts/kubernetes.js';
import { ClawError } from '../../core/errors.js';

export interface KubernetesJob {
  tenantId: string;
  tool: string;
  callId: string;
  image: string;
  command: string[];
  args: unknown;
  secrets?: Record<string, string>;
  /** CIDRs the granted egress hosts resolved to (port 443). Empty: no egress. */
  egressCidrs?: string[];
  memoryMb?: number;
  cpu?: string;
  timeoutMs?: number;
}

export const LABELS = { sandbox: 'claw.dev/sandbox', tenant: 'claw.dev/tenant', tool: 'claw.dev/tool', call: 'claw.dev/call' } as const;

/** A DNS-1123 name per call: stable for the call (retries reuse it), unique across calls. */
export function sandboxName(job: Pick<KubernetesJob, 'tenantId' | 'callId'>): string {
  return `claw-tool-${createHash('sha256').update(`${job.tenantId}/${job.callId}`).digest('hex').slice(0, 20)}`;
}

/** Label values are <= 63 chars of [A-Za-z0-9._-]. */
const labelValue = (v: string) => v.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '') || 'x';

function labels(job: KubernetesJob): Record<string, string> {
  return {
    [LABELS.sandbox]: 'tool',
    [LABELS.tenant]: labelValue(job.tenantId),
    [LABELS.tool]: labelValue(job.tool),
    [LABELS.call]: sandboxName(job),
  };
}

/** The environment variable (and Secret key) carrying the call's arguments as JSON. */
export const ARGS_KEY = 'CLAW_ARGS';
/** The Secret key carrying the call's result key (32 bytes, base64); seal-output.mjs reads and drops it. */
export const RESULT_KEY = 'CLAW_RESULT_KEY';
/** The call's name in the pod's environment: the sealed result is bound to it. */
export const CALL_ENV = 'CLAW_CALL';
const RESERVED = [ARGS_KEY, RESULT_KEY, CALL_ENV];
/** seal-output.mjs in the sandbox image (the worker's image: its working directory is /app). */
export const SEAL_RUNNER = '/app/runtime/sandbox/seal-output.mjs';
const SEAL_AAD = 'claw-sandbox-result-v1\0';

/**
 * The call's Secret: its arguments, the tool's secrets (each an environment variable of the
 * program, envFrom) and the key its result is sealed under.
 */
export function sandboxSecret(job: KubernetesJob, resultKey: Buffer, namespace = SANDBOX_NAMESPACE): k8s.V1Secret {
  const reserved = RESERVED.find((name) => job.secrets && name in job.secrets);
  if (reserved) {
    throw new ClawError('TOOL_SECRET_RESERVED', `tool ${job.tool}: a secret cannot be named ${reserved}, which the sandbox reserves for the call's arguments and result`, {
      hint: `rename the secret (claw secrets set <name>) and the tool's 'secrets:' entry in claw.yaml`,
    });
  }
  if (resultKey.length !== 32) throw new Error('sandboxSecret: the result key is 32 bytes');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: sandboxName(job), namespace, labels: labels(job) },
    type: 'Opaque',
    stringData: { ...job.secrets, [ARGS_KEY]: JSON.stringify(job.args ?? {}), [RESULT_KEY]: resultKey.toString('base64') },
  };
}

/** What seal-output.mjs sealed: the tool's own output and exit code. */
export interface SealedResult {
  exitCode: number;
  signal?: string;
  stdout: string;
  stderr: string;
  truncated: boolean;
}

/**
 * The sealed line in a pod's log, opened with the call's key; undefined when there is none
 * or it does not open (another key, another call, edited): nothing unsealed is trusted.
 */
export function openSealedResult(log: string, resultKey: Buffer, call: string): SealedResult | undefined {
  const line = log.split('\n').find((l) => l.startsWith('claw-sealed-v1 '));
  const [, iv, body] = line?.trim().split(' ') ?? [];
  if (!iv || !body) return undefined;
  try {
    const sealed = Buffer.from(body, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', resultKey, Buffer.from(iv, 'base64'));
    decipher.setAAD(Buffer.from(`${SEAL_AAD}${call}`));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    const plain = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]).toString('utf8');
    return JSON.parse(plain) as SealedResult;
  } catch {
    return undefined;
  }
}

export function sandboxPod(job: KubernetesJob, namespace = SANDBOX_NAMESPACE): k8s.V1Pod {
  const memory = `${job.memoryMb ?? 256}Mi`;
  const cpu = job.cpu ?? '500m';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: sandboxName(job), namespace, labels: labels(job) },
    spec: {
      ...sandboxPodScheduling(),
      restartPolicy: 'Never',
      activeDeadlineSeconds: Math.max(1, Math.ceil((job.timeoutMs ?? 30_000) / 1000)),
      enableServiceLinks: false,
      hostNetwork: false,
      hostPID: false,
      hostIPC: false,
      dnsPolicy: job.egressCidrs?.length ? 'ClusterFirst' : 'None',
      ...(job.egressCidrs?.length ? {} : { dnsConfig: { nameservers: ['127.0.0.1'] } }),
      securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'tool',
          image: job.image,
          command: ['node', SEAL_RUNNER, ...job.command],
          env: [
            { name: 'HOME', value: '/scratch' },
            { name: CALL_ENV, value: sandboxName(job) },
          ],
          envFrom: [{ secretRef: { name: sandboxName(job) } }],
          workingDir: '/scratch',
          resources: {
            requests: { cpu, memory, 'ephemeral-storage': '64Mi' },
            limits: { cpu, memory, 'ephemeral-storage': '64Mi' },
          },
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            privileged: false,
            capabilities: { drop: ['ALL'] },
          },
          volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }, { name: 'tmp', mountPath: '/tmp' }],
        },
      ],
      volumes: [
        { name: 'scratch', emptyDir: { sizeLimit: '64Mi' } },
        { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
      ],
    },
  };
}

/** The call's egress on top of the namespace default-deny: DNS plus the granted CIDRs on 443. */
export function sandboxNetworkPolicy(job: KubernetesJob, namespace = SANDBOX_NAMESPACE): k8s.V1NetworkPolicy | undefined {
  if (!job.egressCidrs?.length) return undefined;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: sandboxName(job), namespace, labels: labels(job) },
    spec: {
      podSelector: { matchLabels: { [LABELS.call]: sandboxName(job) } },
      policyTypes: ['Egress'],
      egress: [
        {
          to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
          ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }],
        },
        { to: job.egressCidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: [{ protocol: 'TCP', port: 443 }] },
      ],
    },
  };
}

export interface KubernetesOutcome {
  ok: boolean;
  value?: unknown;
  logs: string;
  phase: string;
  error?: { code: 'SANDBOX_TIMEOUT' | 'SANDBOX_EXIT' | 'SANDBOX_KUBERNETES' | 'SANDBOX_RESULT_UNSEALED'; message: string };
  wallMs: number;
}

export interface KubernetesSandboxOptions {
  kubeConfig: k8s.KubeConfig;
  namespace?: string;
  /** How often to read the pod's status. */
  pollMs?: number;
  /** On top of a call's own timeout: scheduling and image pull (default 30 s). */
  schedulingGraceMs?: number;
}

export class KubernetesSandbox {
  private readonly core: k8s.CoreV1Api;
  private readonly net: k8s.NetworkingV1Api;
  private readonly namespace: string;
  private readonly pollMs: number;
  private readonly schedulingGraceMs: number;

  constructor(options: KubernetesSandboxOptions) {
    this.core = options.kubeConfig.makeApiClient(k8s.CoreV1Api);
    this.net = options.kubeConfig.makeApiClient(k8s.NetworkingV1Api);
    this.namespace = options.namespace ?? SANDBOX_NAMESPACE;
    this.pollMs = options.pollMs ?? 250;
    this.schedulingGraceMs = options.schedulingGraceMs ?? 30_000;
  }

  async run(job: KubernetesJob): Promise<KubernetesOutcome> {
    const started = performance.now();
    const namespace = this.namespace;
    const name = sandboxName(job);
    const resultKey = randomBytes(32);
    const secret = sandboxSecret(job, resultKey, namespace);
    const policy = sandboxNetworkPolicy(job, namespace);
    const deadline = Date.now() + (job.timeoutMs ?? 30_000) + this.schedulingGraceMs;
    const done = (rest: Omit<KubernetesOutcome, 'wallMs'>): KubernetesOutcome => ({ ...rest, wallMs: performance.now() - started });
    try {
      await this.core.createNamespacedSecret({ namespace, body: secret });
      if (policy) await this.net.createNamespacedNetworkPolicy({ namespace, body: policy });
      await this.core.createNamespacedPod({ namespace, body: sandboxPod(job, namespace) });
      let phase = 'Pending';
      while (phase === 'Pending' || phase === 'Running' || phase === 'Unknown') {
        if (Date.now() > deadline) {
          return done({ ok: false, logs: '', phase, error: { code: 'SANDBOX_TIMEOUT', message: `the tool pod did not finish within ${job.timeoutMs ?? 30_000} ms` } });
        }
        await new Promise((r) => setTimeout(r, this.pollMs));
        const pod = await this.core.readNamespacedPod({ name, namespace });
        phase = pod.status?.phase ?? 'Unknown';
        if (pod.status?.reason === 'DeadlineExceeded') {
          return done({ ok: false, logs: '', phase, error: { code: 'SANDBOX_TIMEOUT', message: `the tool pod exceeded its ${job.timeoutMs ?? 30_000} ms deadline` } });
        }
      }
      // The sealed result is ~4/3 of the tool's output (at most 1 MiB each of stdout and stderr).
      const log = await this.core.readNamespacedPodLog({ name, namespace, container: 'tool', limitBytes: 3 * 1_048_576 });
      const result = openSealedResult(log, resultKey, name);
      if (!result) {
        return done({ ok: false, logs: '', phase, error: { code: 'SANDBOX_RESULT_UNSEALED', message: `the tool pod (phase ${phase}) printed no result sealed under this call's key; is the sandbox image built from the worker's (${SEAL_RUNNER})?` } });
      }
      if (phase !== 'Succeeded' || result.exitCode !== 0) {
        return done({ ok: false, logs: result.stderr, phase, error: { code: 'SANDBOX_EXIT', message: `the tool exited with ${result.signal ?? `code ${result.exitCode}`} (pod phase ${phase})` } });
      }
      return done({ ok: true, value: parseOutput(result.stdout), logs: result.stderr, phase });
    } catch (err) {
      const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
      return done({ ok: false, logs: '', phase: 'Error', error: { code: 'SANDBOX_KUBERNETES', message: `the Kubernetes API refused the sandbox: ${message}` } });
    } finally {
      await Promise.all([
        this.core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 }).catch(() => undefined),
        this.core.deleteNamespacedSecret({ name, namespace }).catch(() => undefined),
        policy ? this.net.deleteNamespacedNetworkPolicy({ name, namespace }).catch(() => undefined) : undefined,
      ]);
    }
  }
}

function parseOutput(text: string): unknown {
  const trimmed = text.trim();
  try {
    return JSON.parse(trimmed);
  } catch {
    return trimmed;
  }
}
