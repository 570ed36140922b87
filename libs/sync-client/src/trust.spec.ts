import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SyncClient, SyncError } from './sync-client';
import { normalizeFingerprint, untrustedCause, UntrustedServerError } from './trust';

const FP = 'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89';

describe('server trust', () => {
  test.each([
    [FP, FP],
    [FP.toLowerCase(), FP],
    [FP.replace(/:/g, ''), FP],
    [`SHA256:${FP}`, FP],
    [`sha-256 ${FP.replace(/:/g, ' ')}`, FP],
    ['AB:CD', null],
    [`${FP}:00`, null],
    [FP.replace('AB', 'XY'), null],
    ['', null],
  ])('reads the fingerprint %j as %j', (typed, expected) => {
    expect(normalizeFingerprint(typed)).toBe(expected);
  });

  it('finds the refusal behind a failed fetch, however deep', () => {
    const refusal = new UntrustedServerError('TLS_UNTRUSTED', 'no', undefined);
    expect(untrustedCause(new TypeError('fetch failed', { cause: refusal }))).toBe(refusal);
    expect(untrustedCause(new TypeError('fetch failed', { cause: new Error('ECONNREFUSED') }))).toBeNull();
  });

  describe('checked before any file is made', () => {
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cacpq-trust-'));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    test.each([
      [{ server: 'https://nas:3000', trust: { fingerprint: 'nope' } }, 'BAD_FINGERPRINT'],
      [{ server: 'http://nas:3000', trust: { fingerprint: FP } }, 'TLS_NOT_HTTPS'],
      [{ server: 'https://nas:3000', trust: { ca: 'not a certificate' } }, 'BAD_CA'],
      [{ server: 'https://nas:3000', trust: { fingerprint: FP, ca: '-----BEGIN CERTIFICATE-----' } }, 'BAD_TRUST'],
    ])('init %j is refused with %s', async (opts, code) => {
      const file = path.join(dir, 'ws.db');
      const err = await SyncClient.init({ file, token: 't', ...opts }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SyncError);
      expect((err as SyncError).code).toBe(code);
      expect(fs.existsSync(file)).toBe(false);
    });
  });
});
