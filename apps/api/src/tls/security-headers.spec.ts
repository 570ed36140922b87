import { startTestServer, type TestServer } from '../../test/harness';

/**
 * Over plain HTTP (an admin opening http://nas:3000 from their PC) no header may send the browser to
 * https: HSTS and upgrade-insecure-requests there break every script and stylesheet. Over TLS — here
 * through a trusted proxy — they are sent.
 */
describe('security headers by transport', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ TRUST_PROXY: 'loopback' });
  });
  afterAll(() => server.close());

  test.each(['/login', '/api/health', '/api/v1/auth/me'])('plain HTTP %s: no HSTS, no upgrade-insecure-requests', async (path) => {
    const res = await server.http.get(path).set('Host', 'nas.example:3000');
    expect(res.headers['strict-transport-security']).toBeUndefined();
    expect(res.headers['content-security-policy']).toBeDefined();
    expect(res.headers['content-security-policy']).not.toMatch(/upgrade-insecure-requests/);
    expect(res.headers['cross-origin-opener-policy']).toBeUndefined();
  });

  test.each(['/login', '/api/health'])('HTTPS (through the trusted proxy) %s: HSTS for this host only, and the upgrade', async (path) => {
    const res = await server.http.get(path).set('Host', 'nas.example').set('X-Forwarded-Proto', 'https');
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000');
    expect(res.headers['content-security-policy']).toMatch(/upgrade-insecure-requests/);
  });

  it('the session cookie is Secure only over HTTPS', async () => {
    const login = (proto?: string) => {
      const req = server.http.post('/api/v1/auth/login').send({ username: 'admin', password: 'admin-password-for-tests' });
      return proto ? req.set('X-Forwarded-Proto', proto) : req;
    };
    const plain = await login();
    const secure = await login('https');
    expect(plain.status).toBe(200);
    expect(secure.status).toBe(200);
    const cookie = (res: { headers: Record<string, unknown> }) => ([] as string[]).concat(res.headers['set-cookie'] as string[]).join('\n');
    expect(cookie(plain)).not.toMatch(/;\s*Secure/i);
    expect(cookie(secure)).toMatch(/cacpq_session=[^;]+;.*Secure/i);
  });

  it('says how the server is reached, to any signed-in account', async () => {
    const login = await server.http.post('/api/v1/auth/login').send({ username: 'admin', password: 'admin-password-for-tests' });
    const cookie = ([] as string[])
      .concat(login.headers['set-cookie'] as unknown as string[])
      .map((c) => c.split(';')[0])
      .join('; ');
    const res = await server.http.get('/api/v1/server/tls').set('Cookie', cookie);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ mode: 'off', requestSecure: false });
    expect((await server.http.get('/api/v1/server/tls')).status).toBe(401);
  });
});
