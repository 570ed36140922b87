import { Algorithm, hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Argon2id with OWASP's recommended minimum (19 MiB of memory, 2 passes, 1 lane): about 70 ms here,
 * and 19 MiB per sign-in in flight where scrypt at OWASP's minimum would take 128 MiB.
 */
export const ARGON2 = { algorithm: Algorithm.Argon2id, memoryCost: 19 * 1024, timeCost: 2, parallelism: 1 } as const;

/** A stored hash made with the current algorithm and parameters, in PHC form (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`). */
export function hashPassword(password: string): Promise<string> {
  return argon2Hash(password, ARGON2);
}

/** The scrypt hashes of earlier versions (`scrypt$N$r$p$salt$hash`): checked, then re-hashed at the next sign-in. */
function scryptAsync(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, 32, { N: n, r, p, maxmem: 128 * n * r * 2 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** A hash nobody can match, checked when there is no account, so a missing account does not answer faster. */
let dummy: Promise<string> | null = null;

export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  if (stored?.startsWith('$argon2')) {
    try {
      return await argon2Verify(stored, password);
    } catch {
      return false;
    }
  }
  const parts = (stored ?? '').split('$');
  if (parts.length === 6 && parts[0] === 'scrypt') {
    const [, n, r, p, salt, hash] = parts;
    const N = Number(n);
    const R = Number(r);
    const P = Number(p);
    // Parameters from the stored text are bounded: a tampered row must not make the server allocate gigabytes.
    if (!(N >= 2 && N <= 1 << 20 && R >= 1 && R <= 32 && P >= 1 && P <= 16)) return false;
    const expected = Buffer.from(hash, 'base64url');
    const key = await scryptAsync(password, Buffer.from(salt, 'base64url'), N, R, P);
    return key.length === expected.length && timingSafeEqual(key, expected);
  }
  dummy ??= hashPassword(randomBytes(16).toString('hex'));
  await argon2Verify(await dummy, password).catch(() => false);
  return false;
}

/** Whether a stored hash is weaker than the current parameters (an older algorithm, or less memory or passes). */
export function needsRehash(stored: string | null): boolean {
  const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(stored ?? '');
  if (!m) return true;
  return Number(m[1]) < ARGON2.memoryCost || Number(m[2]) < ARGON2.timeCost;
}

/** A high-entropy secret for a session or device token. */
export function newSecret(prefix: string): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

/** Tokens and session ids are stored as sha256: they are random, so no salt or stretching is needed. */
export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export function generatePassword(): string {
  return randomBytes(15).toString('base64url');
}
