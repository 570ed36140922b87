import 'reflect-metadata'; // @peculiar/x509's dependency injection (tsyringe) needs it loaded first
import { X509Certificate, createPrivateKey, webcrypto, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import * as x509 from '@peculiar/x509';

/** Thrown for a certificate or key the server cannot use; the message says which file and why. */
export class TlsMaterialError extends Error {}

/** What the server serves over TLS, and what it tells people about it. */
export interface TlsMaterial {
  mode: 'files' | 'self-signed';
  /** PEM: the server's certificate followed by the chain, as served. */
  cert: string;
  key: string;
  /** SHA-256 of the server certificate (DER), as browsers show it: 32 hex pairs joined by colons. */
  fingerprint: string;
  subject: string;
  /** The names and addresses the certificate is valid for. */
  names: string[];
  validFrom: string;
  validTo: string;
  /** Where the files are (the generated ones live under the data directory). */
  certFile: string;
  keyFile: string;
  /** Notes for the start-up output (a generated certificate, names it does not cover). */
  notes: string[];
}

/** The self-signed certificate's files, under the data directory; generated once and kept. */
export function selfSignedFiles(dataDir: string): { dir: string; cert: string; key: string } {
  const dir = path.join(dataDir, 'tls');
  return { dir, cert: path.join(dir, 'self-signed.crt'), key: path.join(dir, 'self-signed.key') };
}

function readPem(file: string, what: string, variable: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TlsMaterialError(
      code === 'ENOENT'
        ? `${variable} names ${file}, which does not exist.`
        : `${variable} names ${file}, which cannot be read (${code ?? (err as Error).message}).`,
    );
  }
  if (!text.includes('-----BEGIN'))
    throw new TlsMaterialError(`${variable} (${file}) is not a PEM file: it has no "-----BEGIN" line (${what} expected).`);
  return text;
}

function certificatesIn(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

function parseCert(pem: string, file: string, variable: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new TlsMaterialError(`${variable} (${file}) holds no readable certificate: ${(err as Error).message}.`);
  }
}

function parseKey(pem: string, file: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    const encrypted = /ENCRYPTED/.test(pem);
    throw new TlsMaterialError(
      encrypted
        ? `TLS_KEY (${file}) is encrypted with a passphrase; give the server an unencrypted key file readable only by its account.`
        : `TLS_KEY (${file}) holds no readable private key: ${(err as Error).message}.`,
    );
  }
}

/** The colon-separated SHA-256 fingerprint browsers show (`AB:CD:…`). */
export function fingerprintOf(cert: X509Certificate): string {
  return cert.fingerprint256;
}

function namesOf(cert: X509Certificate): string[] {
  const san = cert.subjectAltName ?? '';
  return san
    .split(/,\s*/)
    .map((part) => part.replace(/^(DNS|IP Address):/, ''))
    .map((name) => (name.includes(':') ? new URL(`http://[${name}]/`).hostname.slice(1, -1) : name))
    .filter((n) => n !== '');
}

function describe(
  mode: TlsMaterial['mode'],
  cert: X509Certificate,
  certPem: string,
  keyPem: string,
  files: { cert: string; key: string },
  notes: string[],
): TlsMaterial {
  return {
    mode,
    cert: certPem,
    key: keyPem,
    fingerprint: fingerprintOf(cert),
    subject: cert.subject.replace(/\n/g, ', '),
    names: namesOf(cert),
    validFrom: new Date(cert.validFrom).toISOString(),
    validTo: new Date(cert.validTo).toISOString(),
    certFile: files.cert,
    keyFile: files.key,
    notes,
  };
}

/**
 * Checks a certificate, its key and its chain the way the server will use them: each file is read
 * and parsed, the key must be the certificate's, and Node's TLS must accept the pair. Every failure
 * is a sentence naming the variable and the file.
 */
export function loadTlsFiles(opts: { certFile: string; keyFile: string; chainFile?: string }, now = new Date()): TlsMaterial {
  const certPem = readPem(opts.certFile, 'a certificate', 'TLS_CERT');
  const keyPem = readPem(opts.keyFile, 'a private key', 'TLS_KEY');
  const certs = certificatesIn(certPem);
  if (certs.length === 0)
    throw new TlsMaterialError(`TLS_CERT (${opts.certFile}) holds no certificate ("-----BEGIN CERTIFICATE-----" block).`);
  const leaf = parseCert(certs[0], opts.certFile, 'TLS_CERT');
  const key = parseKey(keyPem, opts.keyFile);
  if (!leaf.checkPrivateKey(key)) {
    throw new TlsMaterialError(
      `TLS_KEY (${opts.keyFile}) is not the key of the certificate in TLS_CERT (${opts.certFile}); give the pair issued together.`,
    );
  }
  let served = certPem.trim();
  if (opts.chainFile) {
    const chainPem = readPem(opts.chainFile, 'certificates', 'TLS_CHAIN');
    const chain = certificatesIn(chainPem);
    if (chain.length === 0) throw new TlsMaterialError(`TLS_CHAIN (${opts.chainFile}) holds no certificate.`);
    chain.forEach((c) => parseCert(c, opts.chainFile as string, 'TLS_CHAIN'));
    served = `${served}\n${chain.join('\n')}`;
  }
  try {
    tls.createSecureContext({ cert: served, key: keyPem });
  } catch (err) {
    throw new TlsMaterialError(`TLS_CERT and TLS_KEY cannot be served together: ${(err as Error).message}.`);
  }
  const notes: string[] = [];
  if (new Date(leaf.validTo) < now) {
    throw new TlsMaterialError(
      `The certificate in TLS_CERT (${opts.certFile}) expired on ${new Date(leaf.validTo).toISOString().slice(0, 10)}; renew it.`,
    );
  }
  if (new Date(leaf.validFrom) > now) {
    notes.push(`The certificate in TLS_CERT is valid only from ${new Date(leaf.validFrom).toISOString()}; check this computer's clock.`);
  }
  return describe('files', leaf, `${served}\n`, keyPem, { cert: opts.certFile, key: opts.keyFile }, notes);
}

/** This computer's names and addresses, for a self-signed certificate people reach it by. */
export function hostNamesAndAddresses(extra: string[] = []): { dns: string[]; ips: string[] } {
  const dns = new Set<string>(['localhost']);
  const host = os.hostname().toLowerCase();
  if (host) {
    dns.add(host);
    if (!host.includes('.')) dns.add(`${host}.local`);
  }
  const ips = new Set<string>(['127.0.0.1', '::1']);
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (!a.address.startsWith('fe80:')) ips.add(a.address);
  }
  for (const name of extra) {
    if (net.isIP(name) !== 0) ips.add(name);
    else dns.add(name.toLowerCase());
  }
  return { dns: [...dns], ips: [...ips] };
}

/**
 * The self-signed certificate under the data directory: made on the first start with TLS=self-signed
 * (an ECDSA P-256 key; valid ten years for this computer's names and addresses and TLS_NAMES) and kept,
 * so its fingerprint stays what the workstations were given. Names added later are reported, not
 * added: a new certificate would have a new fingerprint, and every pinned workstation would refuse it.
 */
export async function selfSignedCertificate(dataDir: string, extraNames: string[], now = new Date()): Promise<TlsMaterial> {
  const files = selfSignedFiles(dataDir);
  const wanted = hostNamesAndAddresses(extraNames);
  if (fs.existsSync(files.cert) || fs.existsSync(files.key)) {
    let material: TlsMaterial;
    try {
      material = loadTlsFiles({ certFile: files.cert, keyFile: files.key }, now);
    } catch (err) {
      if (!(err instanceof TlsMaterialError)) throw err;
      throw new TlsMaterialError(
        `the self-signed certificate kept in ${files.dir} cannot be used (${err.message.replace(/^TLS_(CERT|KEY) /, '')}); to make a new one (a new fingerprint for every workstation), delete that directory.`,
      );
    }
    const covered = new Set(material.names.map((n) => n.toLowerCase()));
    const missing = [...extraNames.map((n) => n.toLowerCase())].filter((n) => !covered.has(n));
    const notes = [...material.notes];
    if (missing.length > 0) {
      notes.push(
        `The kept self-signed certificate does not cover ${missing.join(', ')}; to make a new one (a new fingerprint for every workstation), stop the server and delete ${files.dir}.`,
      );
    }
    return { ...material, mode: 'self-signed', notes };
  }

  const crypto = webcrypto;
  x509.cryptoProvider.set(crypto as never); // Node's WebCrypto is the standard Crypto
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const notBefore = new Date(now.getTime() - 24 * 3600_000);
  const notAfter = new Date(now.getTime() + 3650 * 24 * 3600_000);
  const commonName = os.hostname() || 'cacpq-sync-server';
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
      .toString('hex')
      .replace(/^[89a-f]/, '1'),
    name: `CN=${commonName.replace(/[,=+<>#;"\\]/g, '-')}, O=CACPQ Sync Server (self-signed)`,
    notBefore,
    notAfter,
    signingAlgorithm: alg,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...wanted.dns.map((value) => ({ type: 'dns' as const, value })),
        ...wanted.ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trim()}\n-----END PRIVATE KEY-----\n`;
  const certPem = `${cert.toString('pem')}\n`;
  fs.mkdirSync(files.dir, { recursive: true, mode: 0o700 });
  // Key first, readable by the server's account only; each file written whole or not at all.
  writeAtomically(files.key, keyPem, 0o600);
  writeAtomically(files.cert, certPem, 0o644);
  const material = loadTlsFiles({ certFile: files.cert, keyFile: files.key }, now);
  return {
    ...material,
    mode: 'self-signed',
    notes: [`Made a self-signed certificate for ${material.names.join(', ')}: ${files.cert} (kept for the next starts).`],
  };
}

function writeAtomically(file: string, text: string, mode: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode });
  fs.renameSync(tmp, file);
}
