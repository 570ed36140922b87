import * as fs from 'node:fs';
import * as path from 'node:path';

/** The byte forms a secret could be stored in: as typed (UTF-8 and UTF-16), base64, base64url, hex. */
export function secretForms(secret: string): { form: string; bytes: Buffer }[] {
  const utf8 = Buffer.from(secret, 'utf8');
  const forms = [
    { form: 'utf8', bytes: utf8 },
    { form: 'utf16le', bytes: Buffer.from(secret, 'utf16le') },
    { form: 'base64', bytes: Buffer.from(utf8.toString('base64')) },
    { form: 'base64url', bytes: Buffer.from(utf8.toString('base64url')) },
    { form: 'hex', bytes: Buffer.from(utf8.toString('hex')) },
    { form: 'HEX', bytes: Buffer.from(utf8.toString('hex').toUpperCase()) },
  ];
  // base64 of the secret, unpadded: what a padded form shares with the secret inside a longer encoded string.
  const unpadded = utf8.toString('base64').replace(/=+$/, '');
  forms.push({ form: 'base64 (unpadded)', bytes: Buffer.from(unpadded) });
  return forms;
}

/** Every regular file under `dir` (symbolic links are not followed). */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(full));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

export interface Finding {
  file: string;
  secret: string;
  form: string;
  offset: number;
}

export interface ScanResult {
  files: string[];
  bytes: number;
  findings: Finding[];
}

/**
 * Reads the raw bytes of every file under `dir` (and any extra named blobs, such as the server's
 * log output) and reports each place a secret appears in any of its forms.
 */
export function scanForSecrets(dir: string, secrets: Record<string, string>, extra: Record<string, Buffer> = {}): ScanResult {
  const files = filesUnder(dir);
  const blobs: [string, Buffer][] = files.map((f) => [path.relative(dir, f), fs.readFileSync(f)]);
  blobs.push(...Object.entries(extra));
  const findings: Finding[] = [];
  let bytes = 0;
  for (const [name, data] of blobs) {
    bytes += data.length;
    for (const [label, secret] of Object.entries(secrets)) {
      for (const { form, bytes: needle } of secretForms(secret)) {
        const offset = data.indexOf(needle);
        if (offset >= 0) findings.push({ file: name, secret: label, form, offset });
      }
    }
  }
  return { files: blobs.map(([n]) => n), bytes, findings };
}
