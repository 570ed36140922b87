import type { CookieOptions, Request } from 'express';
import type { AppConfig } from '../config/app-config';

export const SESSION_COOKIE = 'cacpq_session';
/** Readable by the dashboard's script, which echoes it in `X-CSRF-Token` (double submit). */
export const CSRF_COOKIE = 'cacpq_csrf';
export const CSRF_HEADER = 'x-csrf-token';

export function cookieOptions(config: AppConfig, req: Request, httpOnly: boolean, maxAgeMs?: number): CookieOptions {
  const secure = config.cookieSecure === 'auto' ? req.secure : config.cookieSecure;
  return { httpOnly, secure, sameSite: 'strict', path: '/', ...(maxAgeMs !== undefined ? { maxAge: maxAgeMs } : {}) };
}
