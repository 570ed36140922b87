import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { LDAP_ENV, ldapSettings, type LdapSettings } from './ldap-config';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const int = (name: string, min: number, max: number, fallback: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return fallback;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `${name} must be a whole number from ${min} to ${max} (got "${v}").` });
        return z.NEVER;
      }
      return n;
    });

const EnvSchema = z.object({
  DATA_DIR: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return path.resolve('./data');
      if (v.trim() === '') {
        // Set but empty is a mistake in a service file, not a wish for ./data in whatever directory it starts in.
        ctx.addIssue({
          code: 'custom',
          message: 'DATA_DIR is set but empty; name the directory for the master files (or leave DATA_DIR unset for ./data).',
        });
        return z.NEVER;
      }
      const dir = path.resolve(v);
      let stat: fs.Stats | undefined;
      try {
        stat = fs.statSync(dir);
      } catch {
        stat = undefined; // made at start
      }
      if (stat && !stat.isDirectory()) {
        ctx.addIssue({ code: 'custom', message: `DATA_DIR names ${dir}, which is a file, not a directory.` });
        return z.NEVER;
      }
      return dir;
    }),
  PORT: int('PORT', 0, 65535, 3000),
  HTTP_PORT: int('HTTP_PORT', 0, 65535, -1).transform((v) => (v < 0 ? undefined : v)),
  TLS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const mode = (v ?? '').trim().toLowerCase();
      if (mode === '' || /^(off|false|no|0)$/.test(mode)) return 'off' as const;
      if (mode === 'self-signed') return 'self-signed' as const;
      if (mode === 'files' || /^(on|true|yes|1)$/.test(mode)) return 'files' as const;
      ctx.addIssue({ code: 'custom', message: `TLS must be off, self-signed, or on with TLS_CERT and TLS_KEY (got "${v}").` });
      return z.NEVER;
    }),
  TLS_CERT: z
    .string()
    .optional()
    .transform((v) => (v && v.trim() !== '' ? path.resolve(v.trim()) : undefined)),
  TLS_KEY: z
    .string()
    .optional()
    .transform((v) => (v && v.trim() !== '' ? path.resolve(v.trim()) : undefined)),
  TLS_CHAIN: z
    .string()
    .optional()
    .transform((v) => (v && v.trim() !== '' ? path.resolve(v.trim()) : undefined)),
  TLS_NAMES: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const names = (v ?? '').split(/[\s,]+/).filter((n) => n !== '');
      const bad = names.filter((n) => !/^[A-Za-z0-9.:*-]+$/.test(n));
      if (bad.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: `TLS_NAMES must be host names or IP addresses separated by commas (got "${bad.join(', ')}").`,
        });
        return z.NEVER;
      }
      return names;
    }),
  TZ: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return undefined;
      // Node reads TZ itself and silently falls back to UTC for a name it does not know: the
      // schedules (backups at 02:00, business hours) would then run hours off.
      const zone = v.trim().replace(/^:/, '');
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: zone });
        return zone;
      } catch {
        ctx.addIssue({
          code: 'custom',
          message: `TZ must be a time zone name such as Europe/Berlin, America/New_York or UTC (got "${v}").`,
        });
        return z.NEVER;
      }
    }),
  HOST: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const host = v && v.trim() !== '' ? v.trim() : '0.0.0.0';
      if (!/^[A-Za-z0-9.:[\]-]+$/.test(host)) {
        ctx.addIssue({ code: 'custom', message: `HOST must be a host name or IP address (got "${v}").` });
        return z.NEVER;
      }
      return host;
    }),
  ADMIN_PASSWORD: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return undefined;
      if (v.length < 10 || v.length > 200) {
        ctx.addIssue({ code: 'custom', message: 'ADMIN_PASSWORD must be 10 to 200 characters long.' });
        return z.NEVER;
      }
      return v;
    }),
  LOG_LEVEL: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const level = (v && v.trim() !== '' ? v.trim().toLowerCase() : 'info') as (typeof LOG_LEVELS)[number];
      if (!LOG_LEVELS.includes(level)) {
        ctx.addIssue({ code: 'custom', message: `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${v}").` });
        return z.NEVER;
      }
      return level;
    }),
  WEB_URL: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return undefined;
      try {
        const url = new URL(v);
        if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('protocol');
        return url.toString().replace(/\/$/, '');
      } catch {
        ctx.addIssue({ code: 'custom', message: `WEB_URL must be an http(s) URL such as http://127.0.0.1:3001 (got "${v}").` });
        return z.NEVER;
      }
    }),
  SESSION_TTL_HOURS: int('SESSION_TTL_HOURS', 1, 720, 12),
  COOKIE_SECURE: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '' || v === 'auto') return 'auto' as const;
      if (/^(1|true|yes|on)$/i.test(v)) return true;
      if (/^(0|false|no|off)$/i.test(v)) return false;
      ctx.addIssue({ code: 'custom', message: `COOKIE_SECURE must be auto, true or false (got "${v}").` });
      return z.NEVER;
    }),
  TRUST_PROXY: z
    .string()
    .optional()
    .transform((v, ctx): boolean | number | string => {
      if (v === undefined || v.trim() === '' || /^(0|false|no|off)$/i.test(v)) return false;
      // true means the one reverse proxy in front, never "every hop": a client could forge the rest.
      if (/^(true|yes|on)$/i.test(v)) return 1;
      if (/^\d{1,2}$/.test(v)) return Number(v);
      if (/^[0-9A-Fa-f.:/, ]+$|^(loopback|linklocal|uniquelocal)(,\s*(loopback|linklocal|uniquelocal))*$/.test(v)) return v;
      ctx.addIssue({
        code: 'custom',
        message: `TRUST_PROXY must be false, true (one proxy), a number of proxies, or proxy addresses (got "${v}").`,
      });
      return z.NEVER;
    }),
  LOGIN_MAX_FAILURES: int('LOGIN_MAX_FAILURES', 1, 1000, 5),
  LOGIN_WINDOW_MINUTES: int('LOGIN_WINDOW_MINUTES', 1, 1440, 15),
  BUSY_TIMEOUT_MS: int('BUSY_TIMEOUT_MS', 0, 600_000, 5000),
  MAX_BODY_BYTES: int('MAX_BODY_BYTES', 1024, 512 * 1024 * 1024, 5 * 1024 * 1024),
  SHUTDOWN_TIMEOUT_MS: int('SHUTDOWN_TIMEOUT_MS', 0, 600_000, 10_000),
  TOMBSTONE_RETENTION_DAYS: int('TOMBSTONE_RETENTION_DAYS', 1, 3650, 90),
  CLOCK_SKEW_TOLERANCE_MS: int('CLOCK_SKEW_TOLERANCE_MS', 0, 3_600_000, 5000),
  ...LDAP_ENV,
});

export type Env = z.infer<typeof EnvSchema>;

/** Thrown at start-up for a bad setting; the message names the variable. */
export class ConfigError extends Error {}

/**
 * The server's configuration, read once from the environment and validated at start-up.
 * One injectable; everything else asks it.
 */
export class AppConfig {
  readonly dataDir: string;
  readonly port: number;
  /** With TLS on: a second, plain-HTTP port that only redirects to HTTPS (for example 80). */
  readonly httpPort: number | undefined;
  readonly tls:
    | { mode: 'off' }
    | { mode: 'files'; certFile: string; keyFile: string; chainFile: string | undefined }
    | { mode: 'self-signed'; names: string[] };
  readonly timeZone: string | undefined;
  readonly host: string;
  readonly adminPassword: string | undefined;
  readonly logLevel: Env['LOG_LEVEL'];
  readonly webUrl: string | undefined;
  readonly sessionTtlHours: number;
  readonly cookieSecure: boolean | 'auto';
  readonly trustProxy: boolean | number | string;
  readonly loginMaxFailures: number;
  readonly loginWindowMinutes: number;
  readonly busyTimeoutMs: number;
  readonly maxBodyBytes: number;
  readonly shutdownTimeoutMs: number;
  readonly tombstoneRetentionDays: number;
  readonly clockSkewToleranceMs: number;
  /** Directory sign-in (LDAP / Active Directory); null when LDAP_URL is not set. */
  readonly ldap: LdapSettings | null;

  constructor(env: Env) {
    this.dataDir = env.DATA_DIR;
    this.port = env.PORT;
    this.httpPort = env.HTTP_PORT;
    this.timeZone = env.TZ;
    if (env.TLS === 'self-signed') this.tls = { mode: 'self-signed', names: env.TLS_NAMES };
    else if (env.TLS === 'files' || (env.TLS === 'off' && env.TLS_CERT)) {
      this.tls = { mode: 'files', certFile: env.TLS_CERT as string, keyFile: env.TLS_KEY as string, chainFile: env.TLS_CHAIN };
    } else this.tls = { mode: 'off' };
    this.host = env.HOST;
    this.adminPassword = env.ADMIN_PASSWORD;
    this.logLevel = env.LOG_LEVEL;
    this.webUrl = env.WEB_URL;
    this.sessionTtlHours = env.SESSION_TTL_HOURS;
    this.cookieSecure = env.COOKIE_SECURE;
    this.trustProxy = env.TRUST_PROXY;
    this.loginMaxFailures = env.LOGIN_MAX_FAILURES;
    this.loginWindowMinutes = env.LOGIN_WINDOW_MINUTES;
    this.busyTimeoutMs = env.BUSY_TIMEOUT_MS;
    this.maxBodyBytes = env.MAX_BODY_BYTES;
    this.shutdownTimeoutMs = env.SHUTDOWN_TIMEOUT_MS;
    this.tombstoneRetentionDays = env.TOMBSTONE_RETENTION_DAYS;
    this.clockSkewToleranceMs = env.CLOCK_SKEW_TOLERANCE_MS;
    this.ldap = ldapSettings(env).settings;
  }

  /** Reads and validates; throws ConfigError whose message names each bad variable. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): AppConfig {
    const result = EnvSchema.safeParse(env);
    const problems = result.success ? [] : result.error.issues.map((i) => i.message);
    if (result.success) problems.push(...AppConfig.crossChecks(result.data), ...ldapSettings(result.data).problems);
    if (!result.success || problems.length > 0) {
      throw new ConfigError(`Invalid configuration: ${problems.join(' ')} The server was not started.`);
    }
    return new AppConfig(result.data);
  }

  /** Settings that are wrong only together. */
  private static crossChecks(env: Env): string[] {
    const problems: string[] = [];
    const filesMode = env.TLS === 'files' || (env.TLS === 'off' && (env.TLS_CERT !== undefined || env.TLS_KEY !== undefined));
    if (filesMode && (env.TLS_CERT === undefined || env.TLS_KEY === undefined)) {
      problems.push(
        `HTTPS with your own certificate needs both TLS_CERT and TLS_KEY (PEM files); ${env.TLS_CERT ? 'TLS_KEY' : 'TLS_CERT'} is not set.`,
      );
    }
    if (env.TLS === 'self-signed' && (env.TLS_CERT !== undefined || env.TLS_KEY !== undefined)) {
      problems.push('TLS=self-signed makes its own certificate; leave TLS_CERT and TLS_KEY unset, or set TLS=on to use them.');
    }
    if (env.TLS_CHAIN !== undefined && !filesMode) problems.push('TLS_CHAIN is only used with TLS_CERT and TLS_KEY.');
    const tlsOn = env.TLS === 'self-signed' || filesMode;
    if (env.HTTP_PORT !== undefined && !tlsOn) {
      problems.push(
        'HTTP_PORT is the plain-HTTP port that redirects to HTTPS; it needs TLS on (TLS=self-signed, or TLS_CERT and TLS_KEY).',
      );
    }
    if (env.HTTP_PORT !== undefined && env.HTTP_PORT !== 0 && env.HTTP_PORT === env.PORT) {
      problems.push(
        `HTTP_PORT and PORT are both ${env.PORT}; plain HTTP on PORT is redirected already, so leave HTTP_PORT unset or pick another port.`,
      );
    }
    if (tlsOn && env.COOKIE_SECURE === false)
      problems.push('COOKIE_SECURE=false cannot be used with TLS on: the session cookie is always Secure then.');
    return problems;
  }

  get tlsOn(): boolean {
    return this.tls.mode !== 'off';
  }
}
