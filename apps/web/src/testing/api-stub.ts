/*
 * The network, stubbed for component tests: `fetch` answers from a route table with bodies shaped
 * by the contract types of @cacpq/sync-protocol, and records every request the page sent (method,
 * path with its query, JSON body, headers). Everything above `fetch` (lib/api, the hooks, the
 * components) runs as in the browser.
 */
import { describeIssues, ERROR_CODES, type ApiErrorBody, type ErrorCode } from '@cacpq/sync-protocol';
import type { z } from 'zod';

export interface SentRequest {
  method: string;
  /** Path and query, as the page asked for it (`/api/v1/audit?limit=51`). */
  path: string;
  /** The parsed JSON body; undefined without one. */
  body: unknown;
  headers: Record<string, string>;
}

export interface Reply {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A fixed answer, an answer per request, or one that arrives when the test resolves it. */
export type Handler = Reply | ((req: SentRequest) => Reply | Promise<Reply>);

export interface ApiStub {
  /** Every request, in order. */
  requests: SentRequest[];
  /** Requests no route answered (they got a 404). */
  unmatched: SentRequest[];
  /** Requests with this method whose path is `path` (where `*` stands for any run of characters). */
  sent(method: string, path: string): SentRequest[];
  /** Adds or replaces a route. */
  on(route: string, handler: Handler | Handler[]): void;
}

export function ok<T>(body: T, status = 200): Reply {
  return { status, body };
}

export function created<T>(body: T): Reply {
  return { status: 201, body };
}

export const noContent: Reply = { status: 204 };

/** An error answer as the API sends it: the code's status, and `ApiErrorBody`. */
export function fail(code: ErrorCode, message: string, extra: { details?: unknown; requestId?: string } = {}): Reply {
  const body: ApiErrorBody = { statusCode: ERROR_CODES[code], code, message, ...extra };
  return { status: body.statusCode, body };
}

/**
 * An endpoint that checks the body against the contract's schema as the API does (400
 * VALIDATION_FAILED, its sentence and per-field details), and otherwise answers `answer(body)`.
 */
export function checked<S extends z.ZodType>(schema: S, answer: (body: z.infer<S>, req: SentRequest) => Reply): Handler {
  return (req) => {
    const result = schema.safeParse(req.body);
    if (result.success) return answer(result.data, req);
    return fail('VALIDATION_FAILED', describeIssues('request body', result.error), {
      details: result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    });
  };
}

/** A promise the test settles itself, to see a page while its request is under way. */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

// A `*` in a pattern stands for any run of characters: "/api/v1/alerts/" + "*" + "/acknowledge".
function matches(pattern: string, path: string): boolean {
  if (!pattern.includes('*')) return path === pattern;
  const escape = (part: string) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${pattern.split('*').map(escape).join('.*')}$`).test(path);
}

function fakeResponse(reply: Reply): Response {
  const status = reply.status ?? 200;
  const text = reply.body === undefined ? '' : JSON.stringify(reply.body);
  const headers = new Map(Object.entries(reply.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    ok: status >= 200 && status < 300,
    status,
    headers: { get: (name: string) => headers.get(name.toLowerCase()) ?? null },
    text: async () => text,
    json: async () => JSON.parse(text),
  } as unknown as Response;
}

/**
 * Replaces `fetch` for this test. Routes are `"METHOD /path"` (exact, query included), where `*`
 * stands for any run of characters; an exact route wins, then the longest pattern. A list of handlers answers one
 * request each, the last one repeating.
 */
export function stubApi(routes: Record<string, Handler | Handler[]> = {}): ApiStub {
  const table = new Map<string, Handler[]>();
  const used = new Map<string, number>();
  const stub: ApiStub = {
    requests: [],
    unmatched: [],
    sent: (method, path) => stub.requests.filter((r) => r.method === method && matches(path, r.path)),
    on: (route, handler) => {
      table.set(route, Array.isArray(handler) ? handler : [handler]);
      used.set(route, 0);
    },
  };
  for (const [route, handler] of Object.entries(routes)) stub.on(route, handler);

  const fetchStub = jest.fn(async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const method = (init.method ?? 'GET').toUpperCase();
    const path = String(input);
    const raw = init.body;
    const req: SentRequest = {
      method,
      path,
      body: typeof raw === 'string' && raw ? JSON.parse(raw) : undefined,
      headers: { ...((init.headers as Record<string, string> | undefined) ?? {}) },
    };
    stub.requests.push(req);
    const routesFor = [...table.keys()].filter((r) => r.startsWith(`${method} `) && matches(r.slice(method.length + 1), path));
    const route = routesFor.find((r) => !r.includes('*')) ?? routesFor.sort((a, b) => b.length - a.length)[0];
    if (!route) {
      stub.unmatched.push(req);
      return fakeResponse(fail('NOT_FOUND', `No stub for ${method} ${path}.`));
    }
    const handlers = table.get(route)!;
    const n = used.get(route)!;
    used.set(route, n + 1);
    const handler = handlers[Math.min(n, handlers.length - 1)];
    const reply = typeof handler === 'function' ? await handler(req) : handler;
    if (init.signal?.aborted) throw new DOMException('The operation was aborted.', 'AbortError');
    return fakeResponse(reply);
  });
  globalThis.fetch = fetchStub as typeof fetch;
  return stub;
}
