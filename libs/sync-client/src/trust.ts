import * as https from 'node:https';
import type * as net from 'node:net';
import * as tls from 'node:tls';
import { Agent, buildConnector, fetch as undiciFetch } from 'undici';

/**
 * How a workstation trusts an HTTPS server it cannot check against the public CAs (a NAS with a
 * self-signed or company certificate), without ever turning verification off:
 *  - `fingerprint`: the SHA-256 of the server's certificate, pinned: only that certificate is
 *    accepted, whatever its issuer or names;
 *  - `ca`: PEM certificates to verify the server's chain and name against, instead of the public CAs.
 * Without either, the system's CAs and the host name are checked, as a browser would.
 */
export interface ServerTrust {
  fingerprint?: string;
  ca?: string;
}

/** The server's certificate was refused; nothing was sent to it. */
export class UntrustedServerError extends Error {
  constructor(
    readonly code: 'TLS_FINGERPRINT_MISMATCH' | 'TLS_UNTRUSTED',
    message: string,
    /** The SHA-256 fingerprint of the certificate the server presented. */
    readonly presented: string | undefined,
  ) {
    super(message);
  }
}

/** A fingerprint as typed (`AB:CD:…`, `abcd…`, `SHA256:AB:…`) → the colon form; null when it is not one. */
export function normalizeFingerprint(text: string): string | null {
  const hex = text
    .trim()
    .replace(/^sha-?256[:= ]\s*/i, '')
    .replace(/[:\s-]/g, '')
    .toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) return null;
  return hex.match(/../g)!.join(':');
}

function presentedFingerprint(socket: tls.TLSSocket): string | undefined {
  const cert = socket.getPeerCertificate();
  return cert && 'fingerprint256' in cert && cert.fingerprint256 ? cert.fingerprint256 : undefined;
}

/**
 * Judges a TLS connection once its handshake is done and before anything is written on it:
 * null to go on, or the error that refuses it (the connection is then closed unused).
 */
function judge(socket: tls.TLSSocket, trust: ServerTrust, host: string): UntrustedServerError | null {
  const presented = presentedFingerprint(socket);
  if (trust.fingerprint) {
    if (presented === trust.fingerprint) return null;
    return new UntrustedServerError(
      'TLS_FINGERPRINT_MISMATCH',
      `The server at ${host} presented a certificate with SHA-256 fingerprint ${presented ?? '(none)'}, ` +
        `not the pinned ${trust.fingerprint}; nothing was sent. If the server's certificate was replaced on purpose, ` +
        `give its new fingerprint (shown at the server's start and on its dashboard).`,
      presented,
    );
  }
  if (socket.authorized) return null;
  const reason = socket.authorizationError instanceof Error ? socket.authorizationError.message : String(socket.authorizationError);
  return new UntrustedServerError(
    'TLS_UNTRUSTED',
    `The server at ${host} presented a certificate this computer does not trust (${reason}); nothing was sent. ` +
      `Its SHA-256 fingerprint is ${presented ?? '(none)'}: if that is what the server shows at its start or on its ` +
      `dashboard, pin it with --fingerprint, or give its CA with --ca FILE.`,
    presented,
  );
}

/** Connection options that let the handshake finish so `judge` decides (it repeats Node's checks when nothing is pinned). */
function tlsOptions(trust: ServerTrust): tls.ConnectionOptions {
  return { rejectUnauthorized: false, ...(trust.ca ? { ca: trust.ca } : {}) };
}

/** A `fetch` that opens HTTPS connections only to a server the trust accepts. */
export function trustedFetch(trust: ServerTrust): typeof fetch {
  // No TLS session resumption: a resumed session shows no certificate to judge.
  const connect = buildConnector({ ...tlsOptions(trust), maxCachedSessions: 0 });
  const dispatcher = new Agent({
    connect: (opts, callback) =>
      connect(opts, (err, socket) => {
        if (err) return callback(err, null);
        if (opts.protocol !== 'https:') return callback(null, socket as net.Socket);
        const refusal = judge(socket as tls.TLSSocket, trust, opts.hostname);
        if (refusal) {
          socket.destroy();
          return callback(refusal, null);
        }
        callback(null, socket as net.Socket);
      }),
  });
  return ((input: Parameters<typeof fetch>[0], init?: RequestInit) =>
    undiciFetch(input as never, { ...(init as object), dispatcher } as never)) as unknown as typeof fetch;
}

/** An https.Agent with the same rule, for the live socket (socket.io's websocket transport). */
export function trustedAgent(trust: ServerTrust): https.Agent {
  const agent = new https.Agent({ keepAlive: false });
  agent.createConnection = ((
    options: tls.ConnectionOptions & { host?: string },
    callback: (err: Error | null, socket?: net.Socket) => void,
  ) => {
    const socket = tls.connect({ ...options, ...tlsOptions(trust) });
    let answered = false;
    const answer = (err: Error | null) => {
      if (answered) return;
      answered = true;
      if (err) socket.destroy();
      callback(err, err ? undefined : socket);
    };
    socket.once('secureConnect', () => answer(judge(socket, trust, options.servername ?? options.host ?? 'the server')));
    socket.once('error', (err) => answer(err));
    return undefined;
  }) as unknown as https.Agent['createConnection'];
  return agent;
}

/** The UntrustedServerError behind a failed fetch, if that is why it failed. */
export function untrustedCause(err: unknown): UntrustedServerError | null {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof UntrustedServerError) return e;
  }
  return null;
}
