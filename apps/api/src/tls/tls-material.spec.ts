import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadTlsFiles, selfSignedCertificate, selfSignedFiles, TlsMaterialError } from './tls-material';

describe('TLS material', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cacpq-tls-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('makes a self-signed certificate once, for this host and TLS_NAMES, and keeps it', async () => {
    const dataDir = path.join(tmp, 'data');
    const first = await selfSignedCertificate(dataDir, ['nas.test', '192.0.2.7']);
    const files = selfSignedFiles(dataDir);
    expect(first.mode).toBe('self-signed');
    expect(first.notes.join(' ')).toMatch(/Made a self-signed certificate/);
    // The fingerprint is the certificate's SHA-256, as browsers show it.
    const cert = new X509Certificate(fs.readFileSync(files.cert));
    expect(first.fingerprint).toBe(cert.fingerprint256);
    expect(first.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(cert.checkHost('nas.test')).toBe('nas.test');
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.checkHost(os.hostname())).toBeTruthy();
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkIP('192.0.2.7')).toBe('192.0.2.7');
    expect(cert.checkHost('elsewhere.test')).toBeUndefined();
    // The key is readable by the server's account only.
    expect(fs.statSync(files.key).mode & 0o077).toBe(0);
    expect(cert.checkPrivateKey(createPrivateKey(fs.readFileSync(files.key)))).toBe(true);

    const again = await selfSignedCertificate(dataDir, ['nas.test', 'new-name.test']);
    expect(again.fingerprint).toBe(first.fingerprint);
    expect(again.notes.join(' ')).toMatch(/does not cover new-name\.test/);
  });

  it('says which file is wrong, and why, for certificates and keys it cannot serve', async () => {
    const a = await selfSignedCertificate(path.join(tmp, 'a'), []);
    const b = await selfSignedCertificate(path.join(tmp, 'b'), []);
    const expect400 = (opts: { certFile: string; keyFile: string; chainFile?: string }, sentence: RegExp) => {
      let thrown: unknown;
      try {
        loadTlsFiles(opts);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(TlsMaterialError);
      expect((thrown as Error).message).toMatch(sentence);
    };
    expect(loadTlsFiles({ certFile: a.certFile, keyFile: a.keyFile }).fingerprint).toBe(a.fingerprint);
    expect400(
      { certFile: a.certFile, keyFile: b.keyFile },
      /TLS_KEY \(.*b\/tls\/self-signed\.key\) is not the key of the certificate in TLS_CERT/,
    );
    expect400({ certFile: path.join(tmp, 'none.pem'), keyFile: a.keyFile }, /TLS_CERT names .*none\.pem, which does not exist\./);
    const notPem = path.join(tmp, 'not.pem');
    fs.writeFileSync(notPem, 'hello');
    expect400({ certFile: notPem, keyFile: a.keyFile }, /TLS_CERT \(.*not\.pem\) is not a PEM file/);
    expect400({ certFile: a.keyFile, keyFile: a.keyFile }, /TLS_CERT \(.*\) holds no certificate/);
    const garbled = path.join(tmp, 'garbled.pem');
    fs.writeFileSync(garbled, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    expect400({ certFile: garbled, keyFile: a.keyFile }, /TLS_CERT \(.*garbled\.pem\) holds no readable certificate/);
    const encrypted = path.join(tmp, 'encrypted.key');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    fs.writeFileSync(encrypted, privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'secret' }));
    expect400({ certFile: a.certFile, keyFile: encrypted }, /TLS_KEY \(.*encrypted\.key\) is encrypted with a passphrase/);
    expect400({ certFile: a.certFile, keyFile: a.keyFile, chainFile: notPem }, /TLS_CHAIN \(.*not\.pem\) is not a PEM file/);
    // A chain is served after the certificate.
    const withChain = loadTlsFiles({ certFile: a.certFile, keyFile: a.keyFile, chainFile: b.certFile });
    expect(withChain.cert.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(withChain.fingerprint).toBe(a.fingerprint);
  });

  it('refuses an expired certificate, and a kept self-signed one that was damaged', async () => {
    const old = await selfSignedCertificate(path.join(tmp, 'old'), [], new Date('2000-01-01T00:00:00Z'));
    expect(() => loadTlsFiles({ certFile: old.certFile, keyFile: old.keyFile })).toThrow(/expired on 2009-12-/);
    const dataDir = path.join(tmp, 'damaged');
    await selfSignedCertificate(dataDir, []);
    fs.writeFileSync(selfSignedFiles(dataDir).key, 'oops');
    await expect(selfSignedCertificate(dataDir, [])).rejects.toThrow(
      /self-signed certificate kept in .*damaged\/tls cannot be used .*delete that directory/,
    );
  });
});
