import * as http from 'node:http';
import * as net from 'node:net';

/** Who calls: the headers a request carries for them (a session adds its CSRF token to writes unless told not to). */
export interface Caller {
  name: string;
  role: 'anonymous' | 'user' | 'manager' | 'admin';
  via: 'none' | 'token' | 'session';
  headers(method: string): Record<string, string>;
}

export const anonymousCaller: Caller = { name: 'anonymous', role: 'anonymous', via: 'none', headers: () => ({}) };

export function tokenCaller(role: Caller['role'], token: string): Caller {
  return { name: `${role} (token)`, role, via: 'token', headers: () => ({ Authorization: `Bearer ${token}` }) };
}

export interface Session {
  /** The session cookie's value (the secret only the browser holds). */
  secret: string;
  csrf: string;
  /** `cacpq_session=…; cacpq_csrf=…` */
  cookie: string;
  setCookie: string[];
}

export function sessionCaller(role: Caller['role'], s: Session): Caller {
  return {
    name: `${role} (session)`,
    role,
    via: 'session',
    headers: (method) => ({ Cookie: s.cookie, ...(method === 'GET' ? {} : { 'X-CSRF-Token': s.csrf }) }),
  };
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** One request with fetch (the URL is normalised: use `raw` for paths that must arrive as written). */
export async function call(
  url: string,
  caller: Caller,
  method: string,
  p: string,
  body?: unknown,
  extra: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(`${url}${p}`, {
    method,
    headers: { ...caller.headers(method), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...extra },
    body: body === undefined ? undefined : JSON.stringify(body),
    redirect: 'manual',
  });
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  return { status: res.status, headers: res.headers, text, body: parsed };
}

export async function login(url: string, username: string, password: string, extra: Record<string, string> = {}) {
  const res = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...extra },
    body: JSON.stringify({ username, password }),
  });
  const setCookie = res.headers.getSetCookie();
  const body = (await res.json()) as { csrfToken?: string; code?: string; message?: string };
  return { status: res.status, headers: res.headers, body, setCookie };
}

export async function signIn(url: string, username: string, password: string): Promise<Session> {
  const r = await login(url, username, password);
  if (r.status !== 200) throw new Error(`sign-in of ${username} failed: ${r.status} ${JSON.stringify(r.body)}`);
  const pairs = r.setCookie.map((c) => c.split(';')[0]);
  const secret = decodeURIComponent(pairs.find((p) => p.startsWith('cacpq_session='))!.slice('cacpq_session='.length));
  return { secret, csrf: r.body.csrfToken!, cookie: pairs.join('; '), setCookie: r.setCookie };
}

export interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A request whose path goes on the wire exactly as written (no URL normalisation of `..` or `%2F`). */
export function raw(port: number, method: string, rawPath: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: rawPath, headers: { Connection: 'close', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Bytes straight onto a socket, for request lines Node's client refuses to send (a raw NUL); resolves with all bytes answered. */
export function rawBytes(port: number, request: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect(port, '127.0.0.1', () => s.end(request));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
    s.setTimeout(10_000, () => s.destroy(new Error('no answer in 10 s')));
  });
}
