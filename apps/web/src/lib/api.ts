/**
 * The dashboard's one API client. Every call is a same-origin request: the API server on PORT
 * answers `/api/*` itself and forwards every other path to this Next.js app, so the session
 * cookie (httpOnly) travels automatically and writes echo the `cacpq_csrf` cookie in
 * `X-CSRF-Token` (double submit).
 */

export const SESSION_COOKIE = 'cacpq_session';
export const CSRF_COOKIE = 'cacpq_csrf';
export const CSRF_HEADER = 'X-CSRF-Token';

/** Error codes after which the browser is sent to the sign-in page. */
const SIGN_IN_AGAIN = new Set(['UNAUTHENTICATED', 'SESSION_EXPIRED', 'INVALID_TOKEN']);

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly requestId?: string;
  readonly details?: unknown;

  constructor(status: number, code: string, message: string, requestId?: string, details?: unknown) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.requestId = requestId;
    this.details = details;
  }
}

/** A sentence for a person, whatever was thrown. */
export function errorMessage(value: unknown): string {
  if (value instanceof Error && value.message) return value.message;
  return 'Something went wrong. Try again.';
}

export function readCookie(name: string): string | undefined {
  if (typeof document === 'undefined') return undefined;
  for (const part of document.cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const raw = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(raw);
    } catch {
      return raw;
    }
  }
  return undefined;
}

/** Only same-site paths: "/x" yes; "//evil.example", a backslash, "https://…" no. */
export function safeNextPath(next: string | null | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//')) return '/';
  // Browsers treat a backslash like "/" and drop tabs and newlines, so such paths could leave the site.
  // eslint-disable-next-line no-control-regex
  if (/[\\\u0000-\u001f\u007f]/.test(next)) return '/';
  if (typeof window !== 'undefined') {
    try {
      if (new URL(next, window.location.origin).origin !== window.location.origin) return '/';
    } catch {
      return '/';
    }
  }
  return next;
}

function redirectToLogin(): void {
  if (typeof window === 'undefined') return;
  const { pathname, search } = window.location;
  if (pathname === '/login' || pathname.startsWith('/login/')) return;
  window.location.assign(`/login?next=${encodeURIComponent(pathname + search)}`);
}

interface ErrorBody {
  statusCode?: unknown;
  code?: unknown;
  message?: unknown;
  requestId?: unknown;
  details?: unknown;
}

function fallbackSentence(status: number): string {
  if (status === 401) return 'Sign in first.';
  if (status === 403) return 'You are not allowed to do this.';
  if (status === 404) return 'Not found.';
  if (status === 429) return 'Too many attempts. Wait a moment and try again.';
  if (status === 502 || status === 503 || status === 504) return 'The server is not available right now. Try again shortly.';
  return `The server answered with an error (HTTP ${status}).`;
}

function fallbackCode(status: number): string {
  if (status === 401) return 'UNAUTHENTICATED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status === 429) return 'RATE_LIMITED';
  if (status === 503) return 'SERVICE_UNAVAILABLE';
  return status >= 500 ? 'INTERNAL' : 'HTTP_ERROR';
}

async function toApiError(res: Response): Promise<ApiError> {
  let body: ErrorBody | undefined;
  try {
    const text = await res.text();
    body = text ? (JSON.parse(text) as ErrorBody) : undefined;
  } catch {
    body = undefined;
  }
  const code = typeof body?.code === 'string' ? body.code : fallbackCode(res.status);
  const message = typeof body?.message === 'string' && body.message ? body.message : fallbackSentence(res.status);
  const requestId = typeof body?.requestId === 'string' ? body.requestId : (res.headers.get('x-request-id') ?? undefined);
  return new ApiError(res.status, code, message, requestId, body?.details);
}

export interface RequestOptions {
  signal?: AbortSignal;
}

async function request<T>(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') {
    const csrf = readCookie(CSRF_COOKIE);
    if (csrf) headers[CSRF_HEADER] = csrf;
  }

  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal: options.signal,
    });
  } catch (err) {
    if (options.signal?.aborted) throw err;
    throw new ApiError(0, 'NETWORK', 'The server could not be reached. Check the connection and try again.');
  }

  if (!res.ok) {
    const error = await toApiError(res);
    if (res.status === 401 && SIGN_IN_AGAIN.has(error.code)) redirectToLogin();
    throw error;
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(res.status, 'BAD_RESPONSE', 'The server sent an answer the dashboard cannot read.');
  }
}

export const api = {
  get: <T>(path: string, options?: RequestOptions) => request<T>('GET', path, undefined, options),
  post: <T = void>(path: string, body?: unknown, options?: RequestOptions) => request<T>('POST', path, body, options),
  patch: <T = void>(path: string, body?: unknown, options?: RequestOptions) => request<T>('PATCH', path, body, options),
  del: <T = void>(path: string, options?: RequestOptions) => request<T>('DELETE', path, undefined, options),
};
