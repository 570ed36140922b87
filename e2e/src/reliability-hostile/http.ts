import * as http from 'node:http';
import * as net from 'node:net';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  ms: number;
}

/** What went wrong at the transport level: no answer in time, or the connection failed. */
export class TransportError extends Error {
  constructor(
    readonly kind: 'timeout' | 'closed' | 'error',
    message: string,
  ) {
    super(message);
  }
}

/** A keep-alive HTTP client for well-formed requests (any bytes as body, any header node:http allows). */
export class Client {
  readonly agent: http.Agent;

  constructor(
    private readonly port: number,
    private readonly timeoutMs: number,
    concurrency: number,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, keepAliveMsecs: 10_000 });
  }

  /** `chunked`: the body goes without a Content-Length, as a stream that never says its size. */
  send(method: string, path: string, headers: Record<string, string>, body?: Buffer, chunked = false): Promise<Answer> {
    const started = Date.now();
    return new Promise<Answer>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: this.port,
          method,
          path,
          agent: this.agent,
          headers: { ...headers, ...(body !== undefined && !chunked ? { 'Content-Length': String(body.length) } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), ms: Date.now() - started });
          });
          res.on('error', (err) => {
            clearTimeout(timer);
            reject(new TransportError('closed', `response cut off: ${err.message}`));
          });
        },
      );
      const timer = setTimeout(() => {
        req.destroy();
        reject(new TransportError('timeout', `no answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new TransportError(err.code === 'ECONNRESET' ? 'closed' : 'error', `${err.code ?? ''} ${err.message}`));
      });
      if (chunked && body !== undefined) {
        // write() before end(): Transfer-Encoding: chunked, no Content-Length.
        req.write(body);
        req.end();
      } else {
        req.end(body);
      }
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/**
 * Sends raw bytes on a fresh connection (request lines, headers and encodings node:http refuses to
 * send), half-closes when asked, and parses the one answer. Resolves null when the server closed
 * the connection without answering.
 */
export function sendRaw(port: number, bytes: Buffer, timeoutMs: number, halfClose: boolean): Promise<Answer | null> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      fn();
    };
    const timer = setTimeout(() => finish(() => reject(new TransportError('timeout', `no answer within ${timeoutMs} ms`))), timeoutMs);
    const tryParse = (final: boolean) => {
      const all = Buffer.concat(chunks);
      const parsed = parseResponse(all, final);
      if (parsed) finish(() => resolve({ ...parsed, ms: Date.now() - started }));
      else if (final)
        finish(() =>
          all.length === 0
            ? resolve(null)
            : reject(new TransportError('closed', `unparseable answer: ${all.toString('latin1').slice(0, 200)}`)),
        );
    };
    socket.on('connect', () => {
      socket.write(bytes, () => {
        if (halfClose) socket.end();
      });
    });
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      tryParse(false);
    });
    socket.on('end', () => tryParse(true));
    socket.on('close', () => tryParse(true));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') tryParse(true);
      else finish(() => reject(new TransportError('error', err.message)));
    });
  });
}

function parseResponse(all: Buffer, final: boolean): Omit<Answer, 'ms'> | null {
  const headEnd = all.indexOf('\r\n\r\n');
  if (headEnd < 0) return null;
  const lines = all.subarray(0, headEnd).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
  if (!m) return null;
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let rest = all.subarray(headEnd + 4);
  if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    if (rest.length < n) return null;
    rest = rest.subarray(0, n);
  } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const out: Buffer[] = [];
    let at = 0;
    for (;;) {
      const eol = rest.indexOf('\r\n', at);
      if (eol < 0) return null;
      const size = parseInt(rest.subarray(at, eol).toString('latin1'), 16);
      if (Number.isNaN(size)) return null;
      if (size === 0) break;
      if (rest.length < eol + 2 + size + 2) return null;
      out.push(rest.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
    rest = Buffer.concat(out);
  } else if (!final) {
    return null;
  }
  return { status: Number(m[1]), headers, body: rest };
}
