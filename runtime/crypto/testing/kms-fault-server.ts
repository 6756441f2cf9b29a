/**
 * A loopback AWS KMS endpoint that answers what a test tells it to, speaking the KMS
 * JSON protocol (awsJson1_1: `X-Amz-Target: TrentService.<Operation>`; errors are HTTP 400
 * with `x-amzn-ErrorType` and `{ "__type": ... }`). moto cannot throttle or report a key
 * pending deletion on Decrypt; this can. By default DescribeKey says the key is enabled
 * and GenerateDataKey hands out a random data key "wrapped" as itself (a fake: never a
 * real key), so the envelope gets far enough to meet the fault under test.
 * Listens on 127.0.0.1 on a free port; `close()` stops it, and it never holds the process open.
 */
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export const FAKE_KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/00000000-1111-2222-3333-444444444444';

export type KmsAnswer = { ok: Record<string, unknown> } | { error: string; message?: string; status?: number };

export interface KmsFaultServer {
  endpoint: string;
  /** Operations received, in order (`GenerateDataKey`, `Decrypt`, `DescribeKey`, ...). */
  readonly operations: string[];
  /** Answer `operation` with this from now on, or only the next `times` times (undefined: back to the default). */
  answer(operation: string, answer: KmsAnswer | undefined, times?: number): void;
  close(): Promise<void>;
}

function defaultAnswer(operation: string, body: Record<string, unknown>): KmsAnswer {
  switch (operation) {
    case 'DescribeKey':
      return { ok: { KeyMetadata: { Arn: FAKE_KEY_ARN, KeyId: FAKE_KEY_ARN.split('/')[1], KeyState: 'Enabled', Enabled: true, KeyUsage: 'ENCRYPT_DECRYPT' } } };
    case 'GenerateDataKey': {
      const key = randomBytes(Number(body.NumberOfBytes ?? 32)).toString('base64');
      return { ok: { KeyId: FAKE_KEY_ARN, Plaintext: key, CiphertextBlob: key } };
    }
    case 'Decrypt':
      return { ok: { KeyId: FAKE_KEY_ARN, Plaintext: body.CiphertextBlob } };
    default:
      return { error: 'UnsupportedOperationException', message: `${operation} is not faked` };
  }
}

export async function startKmsFaultServer(): Promise<KmsFaultServer> {
  const operations: string[] = [];
  const answers = new Map<string, { answer: KmsAnswer; left: number }>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const operation = String(req.headers['x-amz-target'] ?? '').replace(/^TrentService\./, '');
      operations.push(operation);
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        /* answered below like any other request */
      }
      const set = answers.get(operation);
      if (set && --set.left <= 0) answers.delete(operation);
      const answer = set?.answer ?? defaultAnswer(operation, body);
      if ('ok' in answer) {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(answer.ok));
      } else {
        res.writeHead(answer.status ?? 400, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': answer.error });
        res.end(JSON.stringify({ __type: answer.error, message: answer.message ?? answer.error }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    operations,
    answer(operation, answer, times = Infinity) {
      if (answer) answers.set(operation, { answer, left: times });
      else answers.delete(operation);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
