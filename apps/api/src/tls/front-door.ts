import * as http from 'node:http';
import type * as https from 'node:https';
import * as net from 'node:net';

/** The first byte of a TLS handshake record; anything else on the HTTPS port is plain HTTP. */
const TLS_HANDSHAKE = 0x16;
/** A connection that says nothing is closed after this long (before a server takes it over). */
const FIRST_BYTE_TIMEOUT_MS = 30_000;

/** A host header fit to put in a Location: a name or address, and a port. */
const HOST_HEADER = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;

/**
 * A plain-HTTP server that only sends people to the HTTPS address of the same host: 301 for reads,
 * 308 for everything else (a client may repeat its method and body there). `httpsPort` is the port
 * of the HTTPS address, or `same` when plain HTTP arrives on the HTTPS port itself.
 */
export function redirectToHttps(httpsPort: number | 'same'): http.Server {
  return http.createServer((req, res) => {
    const host = req.headers.host ?? '';
    const match = HOST_HEADER.exec(host);
    if (!match) {
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
      res.end('This server takes HTTPS only; send the request to https:// with its host name.\n');
      return;
    }
    const name = match[1];
    const port = httpsPort === 'same' ? (match[2] ?? '') : httpsPort === 443 ? '' : `:${httpsPort}`;
    const location = `https://${name}${port}${req.url?.startsWith('/') ? req.url : '/'}`;
    const read = req.method === 'GET' || req.method === 'HEAD';
    res.writeHead(read ? 301 : 308, { Location: location, 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
    res.end(read ? `Moved to ${location}\n` : `This server takes HTTPS only: send the request to ${location}\n`);
  });
}

/**
 * Makes an HTTPS server also answer plain HTTP on its own port: each new connection is looked at
 * once, and a TLS handshake goes on to the HTTPS server while anything else goes to `plain` (which
 * redirects). So `http://nas:3000` typed by habit lands on `https://nas:3000` instead of a
 * connection reset.
 */
export function acceptPlainHttpToo(server: https.Server, plain: http.Server): void {
  const tlsListeners = server.listeners('connection') as ((socket: net.Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: net.Socket) => {
    socket.setTimeout(FIRST_BYTE_TIMEOUT_MS, () => socket.destroy());
    socket.once('readable', () => {
      socket.setTimeout(0);
      const first = socket.read(1) as Buffer | null;
      if (first === null) {
        socket.destroy();
        return;
      }
      socket.unshift(first);
      if (first[0] === TLS_HANDSHAKE) for (const listener of tlsListeners) listener.call(server, socket);
      else plain.emit('connection', socket);
    });
    socket.on('error', () => socket.destroy());
  });
}

/**
 * Whether the port can be listened on, found by listening and letting go at once: the start-up asks
 * before it opens or creates anything, so a port in use stops it with nothing made.
 */
export function probePort(port: number, host: string): Promise<NodeJS.ErrnoException | null> {
  if (port === 0) return Promise.resolve(null);
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(null)));
  });
}
