import * as path from 'node:path';
import { z } from 'zod';

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
    .transform((v) => path.resolve(v && v.trim() !== '' ? v : './data')),
  PORT: int('PORT', 0, 65535, 3000),
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

  constructor(env: Env) {
    this.dataDir = env.DATA_DIR;
    this.port = env.PORT;
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
  }

  /** Reads and validates; throws ConfigError whose message names each bad variable. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): AppConfig {
    const result = EnvSchema.safeParse(env);
    if (!result.success) {
      const problems = result.error.issues.map((i) => i.message);
      throw new ConfigError(`Invalid configuration: ${problems.join(' ')} The server was not started.`);
    }
    return new AppConfig(result.data);
  }
}
