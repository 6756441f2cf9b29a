import { ClawError } from '../../core/errors.js';

/** Secret names: what claw.yaml refers to (`apiKeySecret: ANTHROPIC_API_KEY`, `secrets: [GITHUB_TOKEN]`). */
export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

export function checkSecretName(name: string): void {
  if (!SECRET_NAME.test(name)) {
    throw new ClawError('SECRET_NAME_INVALID', `'${name.slice(0, 64)}' is not a valid secret name`, {
      hint: "secret names are 1-128 letters, digits, '_', '.', '-', starting with a letter or '_' (e.g. SLACK_BOT_TOKEN)",
    });
  }
}

/**
 * A secret's plaintext before encryption: the name travels inside the envelope, so a row
 * or KV entry moved to another name fails closed instead of handing out the wrong value.
 */
export function sealable(name: string, value: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ n: name, v: value }));
}

export function unsealed(name: string, plaintext: Uint8Array): string {
  let parsed: { n?: unknown; v?: unknown };
  try {
    parsed = JSON.parse(new TextDecoder().decode(plaintext)) as { n?: unknown; v?: unknown };
  } catch {
    throw new ClawError('CIPHERTEXT_CORRUPT', `secret '${name}' does not hold a sealed secret`, { hint: 'set it again with `claw secrets set`' });
  }
  if (parsed.n !== name || typeof parsed.v !== 'string') {
    throw new ClawError('CIPHERTEXT_CORRUPT', `secret '${name}' holds the ciphertext of another secret and was refused`, {
      hint: 'the stored value was moved or swapped; set it again with `claw secrets set`',
    });
  }
  return parsed.v;
}
