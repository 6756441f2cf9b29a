/**
 * The first process of every program-tool pod (runtime/sandbox/kubernetes.ts): it runs the
 * tool's command and prints what the command printed — stdout, stderr, exit code — as ONE
 * line sealed with AES-256-GCM under the call's result key, bound to the call's name.
 *
 * Why: the worker reads a pod's result from its log, and a pod log is readable to anyone
 * who may read logs in the sandbox namespace, and is kept on the node by the container
 * runtime until the pod is deleted. Sealed, the log holds ciphertext only; the key travels
 * in the call's Secret (`CLAW_RESULT_KEY`) and is removed from the tool's environment.
 *
 * Plain JavaScript with no dependencies: it runs in the sandbox image (the worker's image
 * by default, `/app` being its working directory) before anything else. Exit code: 0 when
 * the tool exited 0, 1 otherwise (the pod phase says which); 70 when it is misconfigured.
 */
import { spawn } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';

const MAX_BYTES = 1024 * 1024;
const key = Buffer.from(process.env.CLAW_RESULT_KEY ?? '', 'base64');
const call = process.env.CLAW_CALL ?? '';
const [command, ...args] = process.argv.slice(2);
if (key.length !== 32 || !call || !command) {
  process.stderr.write('seal-output: needs CLAW_RESULT_KEY (32 bytes, base64), CLAW_CALL and a command\n');
  process.exit(70);
}

const env = { ...process.env };
delete env.CLAW_RESULT_KEY;
delete env.CLAW_CALL;

const streams = { stdout: [], stderr: [] };
const sizes = { stdout: 0, stderr: 0 };
let truncated = false;
const keep = (name) => (chunk) => {
  const room = MAX_BYTES - sizes[name];
  if (room <= 0) return void (truncated = true);
  if (chunk.length > room) truncated = true;
  const part = chunk.subarray(0, room);
  streams[name].push(part);
  sizes[name] += part.length;
};

let finished = false;
function finish(exitCode, signal, spawnError) {
  if (finished) return;
  finished = true;
  const plain = JSON.stringify({
    exitCode,
    ...(signal ? { signal } : {}),
    stdout: Buffer.concat(streams.stdout).toString('utf8'),
    stderr: Buffer.concat(streams.stderr).toString('utf8') + (spawnError ? `seal-output: cannot run ${command}: ${spawnError}\n` : ''),
    truncated,
  });
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(`claw-sandbox-result-v1\0${call}`));
  const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  process.stdout.write(`claw-sealed-v1 ${iv.toString('base64')} ${sealed.toString('base64')}\n`, () => process.exit(exitCode === 0 ? 0 : 1));
}

const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
child.stdout.on('data', keep('stdout'));
child.stderr.on('data', keep('stderr'));
child.on('error', (err) => finish(127, undefined, err.code ?? err.message));
child.on('close', (code, signal) => finish(code ?? 128, signal ?? undefined));
