import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppConfig, ConfigError } from './app-config';
import { DEFAULT_GROUP_FILTER, DEFAULT_USER_FILTER } from './ldap-config';

const BASE = {
  LDAP_URL: 'ldap://dc1.corp.example',
  LDAP_BIND_DN: 'svc-cacpq@corp.example',
  LDAP_BIND_PASSWORD: 'service secret',
  LDAP_USER_BASE: 'OU=Staff,DC=corp,DC=example',
  LDAP_ADMIN_GROUPS: 'CN=CACPQ Admins,OU=Groups,DC=corp,DC=example',
};

describe('directory sign-in settings (LDAP_*)', () => {
  it('is off without LDAP_URL, whatever else is set', () => {
    expect(AppConfig.fromEnv({}).ldap).toBeNull();
    expect(AppConfig.fromEnv({ LDAP_USER_BASE: 'dc=x' }).ldap).toBeNull();
  });

  it('reads the variables, with the defaults for the rest', () => {
    const ldap = AppConfig.fromEnv({ ...BASE, LDAP_MANAGER_GROUPS: ' Sales Leads ;  ; cn=x,dc=y ' }).ldap!;
    expect(ldap).toEqual({
      url: 'ldap://dc1.corp.example',
      bindDn: 'svc-cacpq@corp.example',
      bindPassword: 'service secret',
      userBase: 'OU=Staff,DC=corp,DC=example',
      userFilter: DEFAULT_USER_FILTER,
      groupBase: undefined,
      groupFilter: DEFAULT_GROUP_FILTER,
      groups: { admin: ['CN=CACPQ Admins,OU=Groups,DC=corp,DC=example'], manager: ['Sales Leads', 'cn=x,dc=y'], user: [] },
      startTls: false,
      ca: undefined,
      caFile: undefined,
      timeoutMs: 5000,
      tokenCheckMs: 15 * 60_000,
    });
    expect(AppConfig.fromEnv({ ...BASE, LDAP_URL: 'LDAPS://dc1.corp.example:636/' }).ldap!.url).toBe('ldaps://dc1.corp.example:636');
    expect(AppConfig.fromEnv({ ...BASE, LDAP_TOKEN_CHECK_MINUTES: '0.05' }).ldap!.tokenCheckMs).toBe(3000);
  });

  it('reads the CA file for StartTLS', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cacpq-ldap-ca-')), 'ca.pem');
    fs.writeFileSync(file, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const ldap = AppConfig.fromEnv({ ...BASE, LDAP_STARTTLS: 'yes', LDAP_CA_FILE: file }).ldap!;
    expect([ldap.startTls, ldap.caFile, ldap.ca]).toEqual([true, file, fs.readFileSync(file, 'utf8')]);
    fs.rmSync(path.dirname(file), { recursive: true });
  });

  it.each([
    [{ LDAP_URL: 'dc1.corp.example' }, 'LDAP_URL must be ldap://host:389 or ldaps://host:636'],
    [{ LDAP_BIND_DN: '' }, 'LDAP_BIND_PASSWORD is set without LDAP_BIND_DN'],
    [{ LDAP_ADMIN_GROUPS: 'cn=a*,dc=x' }, 'LDAP_ADMIN_GROUPS must list group DNs or CNs separated by ";" (got "cn=a*,dc=x").'],
    [{ LDAP_GROUP_FILTER: '(member=uid)' }, 'LDAP_GROUP_FILTER must contain {dn}'],
    [{ LDAP_USER_FILTER: 'uid={username}' }, 'LDAP_USER_FILTER must be an LDAP filter in parentheses'],
    [{ LDAP_CA_FILE: path.join(__dirname, '..', '..', 'jest.config.js') }, 'LDAP_CA_FILE must be PEM certificates'],
    [{ LDAP_CA_FILE: path.join(__dirname, 'no-such-ca.pem') }, 'LDAP_CA_FILE cannot be read'],
    [{ LDAP_TOKEN_CHECK_MINUTES: '2000' }, 'LDAP_TOKEN_CHECK_MINUTES must be a number of minutes from 0.01 to 1440'],
  ])('refuses %j with a sentence naming the variable', (env, sentence) => {
    expect(() => AppConfig.fromEnv({ ...BASE, ...env })).toThrow(ConfigError);
    expect(() => AppConfig.fromEnv({ ...BASE, ...env })).toThrow(sentence);
  });
});
