import * as fs from 'node:fs';
import { FilterParser } from 'ldapts';
import { z } from 'zod';

/** Sign-in with the company directory (LDAP / Active Directory); null in AppConfig when LDAP_URL is not set. */
export interface LdapSettings {
  /** `ldap://host:389` or `ldaps://host:636`. */
  url: string;
  bindDn: string | undefined;
  bindPassword: string | undefined;
  userBase: string;
  /** With `{username}` where the name typed at sign-in goes (escaped per RFC 4515). */
  userFilter: string;
  /** Set: groups are searched there with groupFilter; unset: the user's `memberOf` is read. */
  groupBase: string | undefined;
  /** With `{dn}` where the user's DN goes (escaped). */
  groupFilter: string;
  /** Group DNs or CNs per role; the highest role any of the user's groups gives wins. */
  groups: { admin: string[]; manager: string[]; user: string[] };
  startTls: boolean;
  /** PEM text of LDAP_CA_FILE: the certificate authorities trusted for ldaps:// and StartTLS (else the system's). */
  ca: string | undefined;
  caFile: string | undefined;
  timeoutMs: number;
  /** How often the accounts of directory users (and so their device tokens) are checked against the directory. */
  tokenCheckMs: number;
}

export const DEFAULT_USER_FILTER = '(&(objectClass=person)(uid={username}))';
export const DEFAULT_GROUP_FILTER = '(&(objectClass=groupOfNames)(member={dn}))';

const text = () =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const groupList = (name: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const groups = (v ?? '')
        .split(';')
        .map((g) => g.trim())
        .filter((g) => g !== '');
      for (const g of groups) {
        if (/[()*\0]/.test(g) || (g.includes('=') && !/^[A-Za-z][\w.-]*=/.test(g))) {
          ctx.addIssue({ code: 'custom', message: `${name} must list group DNs or CNs separated by ";" (got "${g}").` });
          return z.NEVER;
        }
      }
      return groups;
    });

/** A filter: balanced parentheses, the placeholder present, and parsable once it is filled in. */
const filter = (name: string, placeholder: string, fallback: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const f = v === undefined || v.trim() === '' ? fallback : v.trim();
      const problem = filterProblem(f, placeholder);
      if (problem) {
        ctx.addIssue({ code: 'custom', message: `${name} ${problem} (got "${f}").` });
        return z.NEVER;
      }
      return f;
    });

export function filterProblem(f: string, placeholder: string): string | null {
  if (!f.includes(placeholder)) return `must contain ${placeholder}, where the value is put`;
  let depth = 0;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '\\') i++;
    else if (f[i] === '(') depth++;
    else if (f[i] === ')' && --depth < 0) break;
  }
  if (!f.startsWith('(') || !f.endsWith(')') || depth !== 0) return 'must be an LDAP filter in parentheses, such as (uid={username})';
  try {
    FilterParser.parseString(f.split(placeholder).join('x'));
  } catch (err) {
    return `is not a valid LDAP filter: ${(err as Error).message}`;
  }
  return null;
}

/** The LDAP_* variables, each checked on its own; `ldapSettings` checks them together. */
export const LDAP_ENV = {
  LDAP_URL: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return undefined;
      let url: URL | null = null;
      try {
        url = new URL(v.trim());
      } catch {
        url = null;
      }
      if (!url || (url.protocol !== 'ldap:' && url.protocol !== 'ldaps:') || !url.hostname || (url.pathname && url.pathname !== '/')) {
        ctx.addIssue({
          code: 'custom',
          message: `LDAP_URL must be ldap://host:389 or ldaps://host:636, with no path (got "${v}").`,
        });
        return z.NEVER;
      }
      return `${url.protocol}//${url.host}`;
    }),
  LDAP_BIND_DN: text(),
  LDAP_BIND_PASSWORD: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v === '' ? undefined : v)),
  LDAP_USER_BASE: text(),
  LDAP_USER_FILTER: filter('LDAP_USER_FILTER', '{username}', DEFAULT_USER_FILTER),
  LDAP_GROUP_BASE: text(),
  LDAP_GROUP_FILTER: filter('LDAP_GROUP_FILTER', '{dn}', DEFAULT_GROUP_FILTER),
  LDAP_ADMIN_GROUPS: groupList('LDAP_ADMIN_GROUPS'),
  LDAP_MANAGER_GROUPS: groupList('LDAP_MANAGER_GROUPS'),
  LDAP_USER_GROUPS: groupList('LDAP_USER_GROUPS'),
  LDAP_STARTTLS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '' || /^(0|false|no|off)$/i.test(v.trim())) return false;
      if (/^(1|true|yes|on)$/i.test(v.trim())) return true;
      ctx.addIssue({ code: 'custom', message: `LDAP_STARTTLS must be true or false (got "${v}").` });
      return z.NEVER;
    }),
  LDAP_CA_FILE: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return undefined;
      const file = v.trim();
      let pem: string;
      try {
        pem = fs.readFileSync(file, 'utf8');
      } catch (err) {
        ctx.addIssue({
          code: 'custom',
          message: `LDAP_CA_FILE cannot be read: ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'}).`,
        });
        return z.NEVER;
      }
      if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
        ctx.addIssue({ code: 'custom', message: `LDAP_CA_FILE must be PEM certificates (-----BEGIN CERTIFICATE-----): ${file}.` });
        return z.NEVER;
      }
      return { file, pem };
    }),
  LDAP_TIMEOUT_MS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return 5000;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 100 || n > 120_000) {
        ctx.addIssue({ code: 'custom', message: `LDAP_TIMEOUT_MS must be a whole number from 100 to 120000 (got "${v}").` });
        return z.NEVER;
      }
      return n;
    }),
  LDAP_TOKEN_CHECK_MINUTES: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return 15;
      const n = Number(v);
      // Fractions are for tests (0.05 = every 3 seconds).
      if (!Number.isFinite(n) || n < 0.01 || n > 1440) {
        ctx.addIssue({ code: 'custom', message: `LDAP_TOKEN_CHECK_MINUTES must be a number of minutes from 0.01 to 1440 (got "${v}").` });
        return z.NEVER;
      }
      return n;
    }),
};

type LdapEnvSchema = typeof LDAP_ENV;
export type LdapEnv = { [K in keyof LdapEnvSchema]: z.output<LdapEnvSchema[K]> };

/** The settings (null when LDAP_URL is not set), or the sentences saying what is missing or contradictory. */
export function ldapSettings(env: LdapEnv): { settings: LdapSettings | null; problems: string[] } {
  if (env.LDAP_URL === undefined) return { settings: null, problems: [] };
  const problems: string[] = [];
  const ldaps = env.LDAP_URL.startsWith('ldaps:');
  if (!env.LDAP_USER_BASE)
    problems.push('LDAP_USER_BASE is required with LDAP_URL: the DN under which users are searched (e.g. ou=people,dc=example,dc=com).');
  if (env.LDAP_BIND_DN && env.LDAP_BIND_PASSWORD === undefined) problems.push('LDAP_BIND_PASSWORD is required with LDAP_BIND_DN.');
  if (!env.LDAP_BIND_DN && env.LDAP_BIND_PASSWORD !== undefined)
    problems.push('LDAP_BIND_PASSWORD is set without LDAP_BIND_DN: set the DN of the account the server searches with.');
  if (env.LDAP_ADMIN_GROUPS.length + env.LDAP_MANAGER_GROUPS.length + env.LDAP_USER_GROUPS.length === 0) {
    problems.push(
      'LDAP_ADMIN_GROUPS, LDAP_MANAGER_GROUPS or LDAP_USER_GROUPS must name at least one directory group: only members of those groups can sign in.',
    );
  }
  if (ldaps && env.LDAP_STARTTLS) problems.push('LDAP_STARTTLS=true goes with an ldap:// URL; an ldaps:// URL is encrypted already.');
  if (env.LDAP_CA_FILE && !ldaps && !env.LDAP_STARTTLS) {
    problems.push('LDAP_CA_FILE is set but the connection is not encrypted: use an ldaps:// URL or LDAP_STARTTLS=true.');
  }
  if (problems.length > 0) return { settings: null, problems };
  return {
    settings: {
      url: env.LDAP_URL,
      bindDn: env.LDAP_BIND_DN,
      bindPassword: env.LDAP_BIND_PASSWORD,
      userBase: env.LDAP_USER_BASE!,
      userFilter: env.LDAP_USER_FILTER,
      groupBase: env.LDAP_GROUP_BASE,
      groupFilter: env.LDAP_GROUP_FILTER,
      groups: { admin: env.LDAP_ADMIN_GROUPS, manager: env.LDAP_MANAGER_GROUPS, user: env.LDAP_USER_GROUPS },
      startTls: env.LDAP_STARTTLS,
      ca: env.LDAP_CA_FILE?.pem,
      caFile: env.LDAP_CA_FILE?.file,
      timeoutMs: env.LDAP_TIMEOUT_MS,
      tokenCheckMs: Math.round(env.LDAP_TOKEN_CHECK_MINUTES * 60_000),
    },
    problems: [],
  };
}
