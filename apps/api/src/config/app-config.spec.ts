import * as path from 'node:path';
import { AppConfig, ConfigError } from './app-config';

describe('AppConfig', () => {
  it('has defaults for everything', () => {
    const c = AppConfig.fromEnv({});
    expect(c).toMatchObject({
      dataDir: path.resolve('./data'),
      port: 3000,
      host: '0.0.0.0',
      adminPassword: undefined,
      logLevel: 'info',
      sessionTtlHours: 12,
      cookieSecure: 'auto',
      loginMaxFailures: 5,
    });
  });

  it('reads the variables it knows', () => {
    const c = AppConfig.fromEnv({
      DATA_DIR: '/tmp/x',
      PORT: '8080',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'DEBUG',
      WEB_URL: 'http://127.0.0.1:3001/',
    });
    expect(c).toMatchObject({ dataDir: '/tmp/x', port: 8080, host: '127.0.0.1', logLevel: 'debug', webUrl: 'http://127.0.0.1:3001' });
  });

  it('reads the HTTPS settings', () => {
    expect(AppConfig.fromEnv({}).tls).toEqual({ mode: 'off' });
    expect(AppConfig.fromEnv({ TLS: 'self-signed', TLS_NAMES: 'nas.lan, 192.168.1.10 nas', HTTP_PORT: '80' })).toMatchObject({
      tls: { mode: 'self-signed', names: ['nas.lan', '192.168.1.10', 'nas'] },
      httpPort: 80,
      tlsOn: true,
    });
    // A certificate and key alone turn HTTPS on.
    expect(AppConfig.fromEnv({ TLS_CERT: 'c.pem', TLS_KEY: 'k.pem' }).tls).toEqual({
      mode: 'files',
      certFile: path.resolve('c.pem'),
      keyFile: path.resolve('k.pem'),
      chainFile: undefined,
    });
  });

  it('takes IANA time zones, with or without the POSIX colon', () => {
    expect(AppConfig.fromEnv({ TZ: 'Europe/Berlin' }).timeZone).toBe('Europe/Berlin');
    expect(AppConfig.fromEnv({ TZ: ':America/Toronto' }).timeZone).toBe('America/Toronto');
    expect(AppConfig.fromEnv({ TZ: 'UTC' }).timeZone).toBe('UTC');
  });

  test.each([
    ['true', 1],
    ['2', 2],
    ['10.0.0.1, 10.0.0.2', '10.0.0.1, 10.0.0.2'],
    ['loopback', 'loopback'],
    ['false', false],
  ])('reads TRUST_PROXY=%s as %j, never "trust every hop"', (value, expected) => {
    expect(AppConfig.fromEnv({ TRUST_PROXY: value }).trustProxy).toEqual(expected);
  });

  test.each([
    [{ PORT: 'abc' }, 'PORT must be a whole number from 0 to 65535 (got "abc").'],
    [{ PORT: '70000' }, 'PORT must be a whole number from 0 to 65535 (got "70000").'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "loud").'],
    [{ ADMIN_PASSWORD: 'short' }, 'ADMIN_PASSWORD must be 10 to 200 characters long.'],
    [{ WEB_URL: 'ftp://x' }, 'WEB_URL must be an http(s) URL such as http://127.0.0.1:3001 (got "ftp://x").'],
    [{ HOST: 'bad host!' }, 'HOST must be a host name or IP address (got "bad host!").'],
    [{ SESSION_TTL_HOURS: '0' }, 'SESSION_TTL_HOURS must be a whole number from 1 to 720 (got "0").'],
    [{ COOKIE_SECURE: 'maybe' }, 'COOKIE_SECURE must be auto, true or false (got "maybe").'],
    [{ TRUST_PROXY: 'sure' }, 'TRUST_PROXY must be false, true (one proxy), a number of proxies, or proxy addresses (got "sure").'],
    [{ TZ: 'Mars/Olympus_Mons' }, 'TZ must be a time zone name such as Europe/Berlin, America/New_York or UTC (got "Mars/Olympus_Mons").'],
    [{ DATA_DIR: '' }, 'DATA_DIR is set but empty'],
    [{ DATA_DIR: '  ' }, 'DATA_DIR is set but empty'],
    [{ DATA_DIR: __filename }, `DATA_DIR names ${__filename}, which is a file, not a directory.`],
    [{ TLS: 'maybe' }, 'TLS must be off, self-signed, or on with TLS_CERT and TLS_KEY (got "maybe").'],
    [{ TLS_CERT: '/etc/x.pem' }, 'needs both TLS_CERT and TLS_KEY (PEM files); TLS_KEY is not set.'],
    [{ TLS: 'on' }, 'needs both TLS_CERT and TLS_KEY (PEM files); TLS_CERT is not set.'],
    [{ TLS: 'self-signed', TLS_KEY: '/etc/k.pem' }, 'TLS=self-signed makes its own certificate'],
    [{ HTTP_PORT: '8080' }, 'HTTP_PORT is the plain-HTTP port that redirects to HTTPS; it needs TLS on'],
    [{ TLS: 'self-signed', HTTP_PORT: '3000' }, 'HTTP_PORT and PORT are both 3000'],
    [{ TLS: 'self-signed', HTTP_PORT: 'eighty' }, 'HTTP_PORT must be a whole number from 0 to 65535 (got "eighty").'],
    [
      { TLS: 'self-signed', TLS_NAMES: 'nas.lan, bad/name' },
      'TLS_NAMES must be host names or IP addresses separated by commas (got "bad/name").',
    ],
    [{ TLS: 'self-signed', COOKIE_SECURE: 'false' }, 'COOKIE_SECURE=false cannot be used with TLS on'],
  ])('refuses %j with a sentence naming the variable', (env, sentence) => {
    expect(() => AppConfig.fromEnv(env)).toThrow(ConfigError);
    expect(() => AppConfig.fromEnv(env)).toThrow(sentence);
  });
});
