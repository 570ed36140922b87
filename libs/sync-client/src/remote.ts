import * as zlib from 'node:zlib';
import { promisify } from 'node:util';
import {
  IssuedNumberAnswer,
  IssuedNumbersAnswer,
  PullAnswerEnvelope,
  pulledChangeProblem,
  PushAnswer,
  RefusalOutcomesAnswer,
  RegisterNumbersAnswer,
  ReinitializeAnswer,
  ReportRefusalAnswer,
  SyncInfoAnswer,
  WORKSTATION_HEADERS,
  WorkstationClonedAnswer,
  isApiErrorBody,
  type IssuedNumber,
  type NumberKind,
  type PullResponse,
  type PushResponse,
  type RefusalOutcome,
  type RegisterNumbersResponse,
} from '@cacpq/sync-protocol';
import type { z } from 'zod';
import { ProtocolError, SyncError } from './errors';
import type { LocalStore } from './local-store';
import { normalizeFingerprint, trustedAgent, trustedFetch, untrustedCause, type ServerTrust } from './trust';
import type { LocalStatus, SyncClientOptions } from './types';

const gunzip = promisify(zlib.gunzip);

/** A request body already serialised (a pending batch is kept as exactly the text that is sent). */
class RawJson {
  constructor(readonly text: string) {}
}

/** `/sync/info` as the SDK reads it (an older server announces no body limit). */
export type SyncInfoAnswer = z.infer<typeof SyncInfoAnswer>;

/** Trust options checked before any file is touched: a fingerprint in its canonical form, a CA that is PEM. */
export function checkTrust(trust: ServerTrust | undefined, server: string | undefined): ServerTrust | undefined {
  if (!trust || (trust.fingerprint === undefined && trust.ca === undefined)) return undefined;
  if (trust.fingerprint !== undefined && trust.ca !== undefined) {
    throw new SyncError('BAD_TRUST', 'Give either a fingerprint to pin or a CA to verify against, not both.');
  }
  if (server !== undefined && !server.startsWith('https:')) {
    throw new SyncError('TLS_NOT_HTTPS', `--ca and --fingerprint are for an https:// server (got ${server}).`);
  }
  if (trust.fingerprint !== undefined) {
    const fingerprint = normalizeFingerprint(trust.fingerprint);
    if (!fingerprint) {
      throw new SyncError(
        'BAD_FINGERPRINT',
        `"${trust.fingerprint}" is not a SHA-256 fingerprint: expected 64 hex digits, in pairs separated by colons or not (as the server prints it at start).`,
      );
    }
    return { fingerprint };
  }
  if (!/-----BEGIN CERTIFICATE-----/.test(trust.ca ?? '')) {
    throw new SyncError('BAD_CA', 'The CA must be PEM certificates (a "-----BEGIN CERTIFICATE-----" block).');
  }
  return { ca: trust.ca };
}

/**
 * The server as a workstation speaks to it: every request with the workstation's identity and
 * clock, retried with backoff on network errors and 502/503/504, over HTTPS checked as the trust
 * says. Each answer the SDK consumes is checked against the contract here, at the edge: a malformed
 * one is a {@link ProtocolError} (`BAD_RESPONSE`) naming the endpoint.
 */
export class Remote {
  private readonly explicitFetch: typeof fetch | undefined;
  /** Trust given for this run; written to the file after the first request that succeeds with it. */
  private givenTrust: ServerTrust | undefined;
  private fetcher: { key: string; fetch: typeof fetch } | null = null;
  readonly maxAttempts: number;
  private readonly backoffBaseMs: number;
  private readonly timeoutMs: number;
  private readonly hostName: string;

  constructor(
    private readonly store: LocalStore,
    opts: SyncClientOptions & { hostName: string },
    private readonly now: () => Date,
  ) {
    this.explicitFetch = opts.fetch;
    this.givenTrust = opts.trust;
    this.maxAttempts = opts.maxAttempts ?? 6;
    this.backoffBaseMs = opts.backoffBaseMs ?? 500;
    this.timeoutMs = opts.requestTimeoutMs ?? 60_000;
    this.hostName = opts.hostName;
  }

  // ---------------------------------------------------------------- the endpoints

  /** `GET /sync/info`: the server's generation, tables, interval, limits and features. */
  async info(): Promise<SyncInfoAnswer> {
    return this.call(SyncInfoAnswer, 'GET', '/api/v1/sync/info');
  }

  /** `POST /sync/push` of a batch serialised already (resent byte for byte after a lost answer). */
  async push(bodyText: string): Promise<PushResponse> {
    return (await this.call(PushAnswer, 'POST', '/api/v1/sync/push', new RawJson(bodyText))) as PushResponse;
  }

  /** `GET /sync/pull`: one page of changes. */
  async pull(query: Record<string, string>): Promise<PullResponse> {
    const page = (await this.call(PullAnswerEnvelope, 'GET', `/api/v1/sync/pull?${new URLSearchParams(query)}`)) as PullResponse;
    // The rows one by one (the same rules as PullAnswer, without a schema walk per row).
    for (let i = 0; i < page.changes.length; i++) {
      const problem = pulledChangeProblem(page.changes[i]);
      if (problem) throw new ProtocolError('GET /api/v1/sync/pull', `changes.${i}.${problem}`, null);
    }
    return page;
  }

  /** `GET /sync/snapshot`: the master as one SQLite file (gunzipped here), and the answer's headers. */
  async snapshot(query: Record<string, string>): Promise<{ data: Buffer; headers: Headers }> {
    const path = `/api/v1/sync/snapshot?${new URLSearchParams(query)}`;
    const { bytes, headers } = await this.request<{ bytes: Buffer; headers: Headers }>('GET', path, undefined, true);
    try {
      return { data: await gunzip(bytes), headers };
    } catch {
      throw new ProtocolError('GET /api/v1/sync/snapshot', 'the snapshot is not gzip data');
    }
  }

  /** `GET /sync/refusals`: what became of changes held back here. */
  async refusalOutcomes(query: Record<string, string>): Promise<RefusalOutcome[]> {
    return (await this.call(RefusalOutcomesAnswer, 'GET', `/api/v1/sync/refusals?${new URLSearchParams(query)}`)) as RefusalOutcome[];
  }

  /** `POST /sync/refusals`: changes held back that the server never saw. */
  async reportRefusals(body: unknown): Promise<{ ids: (number | null)[] }> {
    return this.call(ReportRefusalAnswer, 'POST', '/api/v1/sync/refusals', body);
  }

  /** `POST /numbers/uses`: numbers used offline, with the records using them. */
  async registerNumbers(body: unknown): Promise<RegisterNumbersResponse> {
    return this.call(RegisterNumbersAnswer, 'POST', '/api/v1/numbers/uses', body);
  }

  /** `POST /numbers/:kind`: the next number. */
  async allocateNumber(kind: NumberKind, body: unknown, attempts: number): Promise<IssuedNumber> {
    return this.call(IssuedNumberAnswer, 'POST', `/api/v1/numbers/${kind}`, body, attempts);
  }

  /** `POST /numbers/:kind/reserve`: a block of numbers for offline use. */
  async reserveNumbers(kind: NumberKind, body: unknown): Promise<IssuedNumber[]> {
    return this.call(IssuedNumbersAnswer, 'POST', `/api/v1/numbers/${kind}/reserve`, body);
  }

  /** How the live socket connects: over HTTPS, with the same certificate check as the requests. */
  socketAgent(): { agent?: never } {
    const server = this.serverUrl();
    return server.startsWith('https:') && !this.explicitFetch ? { agent: trustedAgent(this.trust()) as never } : {};
  }

  /** A request whose JSON answer is checked against `schema` before it is used. */
  private async call<S extends z.ZodType>(schema: S, method: string, path: string, body?: unknown, attempts?: number): Promise<z.infer<S>> {
    const answer = await this.request<unknown>(method, path, body, false, attempts);
    return checkAnswer(schema, answer, `${method} ${path.split('?')[0]}`);
  }

  // ---------------------------------------------------------------- trust

  trustStatus(): LocalStatus['trust'] {
    const trust = this.trust();
    if (trust.fingerprint) return { kind: 'fingerprint', fingerprint: trust.fingerprint };
    return trust.ca ? { kind: 'ca' } : { kind: 'system' };
  }

  serverUrl(): string {
    return this.store.getState('server') ?? '';
  }

  /** The trust given for this run, else the one kept in the file. */
  trust(): ServerTrust {
    if (this.givenTrust) return this.givenTrust;
    const fingerprint = this.store.getState('tls_fingerprint');
    const ca = this.store.getState('tls_ca');
    return { ...(fingerprint ? { fingerprint } : {}), ...(ca ? { ca } : {}) };
  }

  /** fetch for the server: over HTTPS, one that checks the certificate as the trust says. */
  fetchFor(server: string): typeof fetch {
    if (this.explicitFetch) return this.explicitFetch;
    if (!server.startsWith('https:')) return fetch;
    const trust = this.trust();
    const key = `${trust.fingerprint ?? ''}|${trust.ca ?? ''}`;
    if (this.fetcher?.key !== key) this.fetcher = { key, fetch: trustedFetch(trust) };
    return this.fetcher.fetch;
  }

  /** After a request that succeeded with trust given for this run: keep it for the next runs. */
  keepGivenTrust(): void {
    const given = this.givenTrust;
    if (!given || !this.store.hasState) return;
    this.givenTrust = undefined;
    if (given.fingerprint) this.store.setState('tls_fingerprint', given.fingerprint);
    else this.store.setState('tls_fingerprint', null);
    if (given.ca) this.store.setState('tls_ca', given.ca);
    else this.store.setState('tls_ca', null);
  }

  // ---------------------------------------------------------------- HTTP

  /** Who this workstation is, its file copy, its sync and its clock: on every request. */
  private identityHeaders(): Record<string, string> {
    const h: Record<string, string> = {
      [WORKSTATION_HEADERS.clientTime]: this.now().toISOString(),
      [WORKSTATION_HEADERS.host]: this.hostName.replace(/[^\x20-\x7e]/g, '?'),
    };
    const clientId = this.store.getState('client_id');
    if (clientId) h[WORKSTATION_HEADERS.clientId] = clientId;
    const fileId = this.store.getState('file_id');
    if (fileId && this.store.current) {
      h[WORKSTATION_HEADERS.fileId] = fileId;
      h[WORKSTATION_HEADERS.syncCounter] = String(this.store.current.counter);
      h[WORKSTATION_HEADERS.syncId] = this.store.current.id;
    }
    return h;
  }

  private async request<T>(method: string, path: string, body?: unknown, raw = false, attempts = this.maxAttempts): Promise<T> {
    const server = this.store.getState('server');
    const token = this.store.getState('token');
    let lastError: SyncError | null = null;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      let res: Response;
      let answer: Buffer;
      try {
        res = await this.fetchFor(server ?? '')(`${server}${path}`, {
          method,
          headers: {
            Authorization: `Bearer ${token}`,
            Accept: raw ? 'application/gzip' : 'application/json',
            ...this.identityHeaders(),
            ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
          },
          body: body === undefined ? undefined : body instanceof RawJson ? body.text : JSON.stringify(body),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        // The whole answer belongs to the attempt: a connection cut inside it is retried like one
        // cut before it (a push is replayed by its batch id, a number by its request id).
        answer = Buffer.from(await res.arrayBuffer());
      } catch (err) {
        // A certificate refused is not a network blip: say so at once, and never retry it.
        const untrusted = untrustedCause(err);
        if (untrusted) throw new SyncError(untrusted.code, untrusted.message);
        const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
        lastError = new SyncError('NETWORK', `Cannot reach the CACPQ server at ${server} (${cause}).`);
        if (attempt < attempts) await sleep(this.backoff(attempt));
        continue;
      }
      if (res.status === 503 || res.status === 502 || res.status === 504) {
        const retryAfter = Number(res.headers.get('retry-after'));
        const text = answer.toString('utf8');
        lastError = new SyncError(
          'SERVICE_UNAVAILABLE',
          parseError(text)?.message ?? `The server answered ${res.status}; it is busy or in maintenance.`,
          res.status,
        );
        if (attempt < attempts)
          await sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter * 1000, 300_000) : this.backoff(attempt));
        continue;
      }
      if (!res.ok) {
        const text = answer.toString('utf8');
        const apiError = parseError(text);
        // The details a sync acts on (how to re-initialise, the new client id) are checked like any answer.
        const details =
          apiError?.code === 'REINITIALIZE' ? ReinitializeAnswer : apiError?.code === 'WORKSTATION_CLONED' ? WorkstationClonedAnswer : null;
        if (details) checkAnswer(details, apiError?.details, `${method} ${path.split('?')[0]}`, res.status);
        throw new SyncError(
          apiError?.code ?? `HTTP_${res.status}`,
          apiError?.message ?? `The server answered HTTP ${res.status} to ${method} ${path}.`,
          res.status,
          apiError?.details,
        );
      }
      this.keepGivenTrust();
      if (raw) return { bytes: answer, headers: res.headers } as T;
      try {
        return JSON.parse(answer.toString('utf8')) as T;
      } catch {
        throw new SyncError('PROTOCOL', `The server's answer to ${method} ${path} is not JSON.`, res.status);
      }
    }
    throw lastError ?? new SyncError('NETWORK', 'The request failed.');
  }

  private backoff(attempt: number): number {
    const base = Math.min(30_000, this.backoffBaseMs * 2 ** (attempt - 1));
    return base / 2 + Math.random() * (base / 2);
  }
}

/**
 * An answer checked against the contract: the answer itself when it holds (nothing is copied or
 * left out), else a {@link ProtocolError} naming the endpoint and what is wrong.
 */
export function checkAnswer<S extends z.ZodType>(schema: S, answer: unknown, endpoint: string, status: number | null = null): z.infer<S> {
  const checked = schema.safeParse(answer);
  if (checked.success) return answer as z.infer<S>;
  const problems = checked.error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : 'the answer'}: ${i.message}`)
    .join('; ');
  const more = checked.error.issues.length > 3 ? `; and ${checked.error.issues.length - 3} more` : '';
  throw new ProtocolError(endpoint, problems + more, status);
}

function parseError(text: string) {
  try {
    const body = JSON.parse(text) as unknown;
    return isApiErrorBody(body) ? body : null;
  } catch {
    return null;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
