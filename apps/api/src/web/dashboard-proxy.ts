import type { NextFunction, Request, Response } from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import type { Logger } from 'pino';

/** Paths the API server answers itself; everything else is a dashboard page. */
export function isServerPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/') || path.startsWith('/socket.io') || path === '/metrics';
}

const UNAVAILABLE = (
  detail: string,
) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>CACPQ dashboard unavailable</title>
<meta http-equiv="refresh" content="5"></head><body style="font-family:system-ui;margin:3rem;max-width:40rem">
<h1>The dashboard is not running</h1><p>The CACPQ Sync Server is up (see <a href="/api/health">/api/health</a>),
but its dashboard ${detail}. This page retries every 5 seconds.</p></body></html>`;

/**
 * The one origin: the API server forwards page requests to the Next.js dashboard, so pages,
 * `/api/*` and the session cookie share `PORT`.
 */
export function dashboardProxy(webUrl: string | undefined, logger: Logger) {
  if (!webUrl) {
    return (req: Request, res: Response, next: NextFunction) => {
      if (isServerPath(req.path)) return next();
      res.status(503).type('html').send(UNAVAILABLE('is not configured (WEB_URL is not set; `npm start` sets it)'));
    };
  }
  const proxy = createProxyMiddleware<Request, Response>({
    target: webUrl,
    changeOrigin: false,
    xfwd: true,
    pathFilter: (path) => !isServerPath(path),
    on: {
      error: (err, _req, res) => {
        logger.warn({ err: (err as Error).message, webUrl }, 'dashboard upstream unavailable');
        const out = res as Response;
        if ('headersSent' in out && !out.headersSent)
          out
            .status(503)
            .type('html')
            .send(UNAVAILABLE(`at ${webUrl} does not answer`));
      },
    },
  });
  return proxy;
}
