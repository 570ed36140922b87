import * as fs from 'node:fs';
import * as path from 'node:path';
import { isApiErrorBody } from '@cacpq/sync-protocol';
import { normalizeFingerprint, trustedFetch, untrustedCause, type ServerTrust } from '@cacpq/sync-client';

export interface Connection {
  url: string;
  token?: string;
  username?: string;
  password?: string;
  dataDir: string;
  /** How to trust the server's HTTPS certificate (--fingerprint or --ca). */
  trust?: ServerTrust;
}

/**
 * --fingerprint SHA256 / CACPQ_FINGERPRINT and --ca FILE / CACPQ_CA, as a trust for HTTPS: the
 * fingerprint normalised (any case, with or without colons), the CA file read. Exit code 2 when
 * either is unusable.
 */
export function readTrust(fingerprint: string | undefined, caFile: string | undefined): ServerTrust | undefined {
  if (fingerprint && caFile) throw new CliError('Give --fingerprint or --ca, not both.', 2);
  if (fingerprint) {
    const normal = normalizeFingerprint(fingerprint);
    if (!normal)
      throw new CliError(
        `--fingerprint must be the server's SHA-256 fingerprint, 64 hex digits as the server prints it at start (got "${fingerprint}").`,
        2,
      );
    return { fingerprint: normal };
  }
  if (caFile) {
    let ca: string;
    try {
      ca = fs.readFileSync(caFile, 'utf8');
    } catch (err) {
      throw new CliError(
        `--ca names ${caFile}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`,
        2,
      );
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new CliError(`--ca (${caFile}) holds no PEM certificate.`, 2);
    return { ca };
  }
  return undefined;
}

/** What the server answered when it refused a request: its status, code and sentence. */
export interface ApiRefusal {
  status: number;
  code: string;
  message: string;
}

/** A failure to show the person at the terminal: one sentence, then exit with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    /** Set when the server answered with an error body (lets a command handle one code itself). */
    readonly api?: ApiRefusal,
  ) {
    super(message);
  }
}

/**
 * Talks to a running server over its API. Credentials, in order: --token / CACPQ_TOKEN;
 * --user and --password / CACPQ_USER and CACPQ_PASSWORD; else the local command-line token the
 * server writes to DATA_DIR/hub/local-cli.token on its own host.
 */
export class ApiClient {
  private cookie = '';
  private csrf = '';
  private bearer = '';

  private readonly fetch: typeof fetch;

  /** The trust given on the command line, for commands that talk to the server another way (a workstation). */
  get trust(): ServerTrust | undefined {
    return this.conn.trust;
  }

  constructor(private readonly conn: Connection) {
    this.fetch = conn.trust || conn.url.startsWith('https:') ? trustedFetch(conn.trust ?? {}) : fetch;
  }

  async request<T>(method: string, urlPath: string, body?: unknown): Promise<T> {
    await this.ensureAuth();
    return this.raw<T>(method, urlPath, body);
  }

  private async ensureAuth(): Promise<void> {
    if (this.bearer || this.cookie) return;
    if (this.conn.token) {
      this.bearer = this.conn.token;
      return;
    }
    if (this.conn.username && this.conn.password) {
      const res = await this.raw<{ csrfToken: string }>(
        'POST',
        '/api/v1/auth/login',
        { username: this.conn.username, password: this.conn.password },
        true,
      );
      this.csrf = res.csrfToken;
      return;
    }
    const file = path.join(this.conn.dataDir, 'hub', 'local-cli.token');
    if (fs.existsSync(file)) {
      this.bearer = fs.readFileSync(file, 'utf8').trim();
      return;
    }
    throw new CliError(
      `No credentials: pass --token (or CACPQ_TOKEN), or --user and --password, or run this on the server's host where ${file} exists.`,
      2,
    );
  }

  private async raw<T>(method: string, urlPath: string, body?: unknown, keepCookie = false): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.bearer) headers.Authorization = `Bearer ${this.bearer}`;
    if (this.cookie) headers.Cookie = this.cookie;
    if (this.csrf && method !== 'GET') headers['X-CSRF-Token'] = this.csrf;
    let res: Response;
    try {
      res = await this.fetch(new URL(urlPath, this.conn.url), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      const untrusted = untrustedCause(err);
      if (untrusted) throw new CliError(untrusted.message, 3);
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new CliError(`Cannot reach the CACPQ server at ${this.conn.url} (${cause}). Is it running? Set --url or CACPQ_URL.`, 3);
    }
    if (keepCookie) {
      this.cookie = res.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
    }
    const text = await res.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      if (res.ok)
        throw new CliError(`The server's answer to ${method} ${urlPath} was not JSON (HTTP ${res.status}). Is --url a CACPQ server?`, 1);
    }
    if (!res.ok) {
      if (isApiErrorBody(data))
        throw new CliError(`${data.message} (${data.code}, HTTP ${data.statusCode})`, 1, {
          status: data.statusCode,
          code: data.code,
          message: data.message,
        });
      throw new CliError(`The server answered HTTP ${res.status} to ${method} ${urlPath}.`, 1, {
        status: res.status,
        code: 'HTTP',
        message: `HTTP ${res.status}`,
      });
    }
    return data as T;
  }
}
