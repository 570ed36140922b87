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
  ])('refuses %j with a sentence naming the variable', (env, sentence) => {
    expect(() => AppConfig.fromEnv(env)).toThrow(ConfigError);
    expect(() => AppConfig.fromEnv(env)).toThrow(sentence);
  });
});
