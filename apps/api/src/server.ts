import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import { MasterStore } from '@cacpq/db';
import cookieParser from 'cookie-parser';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { AppModule } from './app.module';

function decodeCookie(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
import { AuthGuard } from './auth/auth.guard';
import { ApiException } from './common/api-exception';
import { jsonBody, requestId, requestLog } from './common/http-pipeline';
import type { AppRequest } from './common/request-context';
import { NestPinoLogger } from './common/logger';
import { openApiDocument } from './openapi/document';
import { AppConfig } from './config/app-config';
import { ServerTls } from './tls/server-tls';
import type { TlsMaterial } from './tls/tls-material';
import { dashboardProxy, isServerPath } from './web/dashboard-proxy';

/**
 * Security headers, strict for the API and looser for the dashboard pages (inline scripts for
 * hydration). HTTPS-only headers — HSTS, `upgrade-insecure-requests`, the cross-origin opener
 * policy — go only on answers to requests that arrived over TLS (directly, or through a trusted
 * proxy): sent over plain HTTP to an admin opening http://nas:3000 from their PC, they make the
 * browser rewrite every script and stylesheet to https, and the dashboard never loads.
 */
function securityHeaders(): (req: Request, res: Response, next: NextFunction) => void {
  const build = (secure: boolean, page: boolean) =>
    helmet({
      contentSecurityPolicy: {
        useDefaults: true,
        directives: {
          defaultSrc: ["'self'"],
          ...(page ? { scriptSrc: ["'self'", "'unsafe-inline'"], connectSrc: ["'self'", 'ws:', 'wss:'] } : {}),
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: page ? ["'self'", 'data:', 'blob:'] : ["'self'", 'data:'],
          upgradeInsecureRequests: secure ? [] : null,
        },
      },
      // One year, for this host only: the NAS's name says nothing about its domain's other hosts.
      strictTransportSecurity: secure ? { maxAge: 365 * 24 * 3600, includeSubDomains: false } : false,
      crossOriginOpenerPolicy: secure,
      originAgentCluster: secure,
    });
  const headers = {
    api: { secure: build(true, false), plain: build(false, false) },
    page: { secure: build(true, true), plain: build(false, true) },
  };
  return (req, res, next) => headers[isServerPath(req.path) ? 'api' : 'page'][req.secure ? 'secure' : 'plain'](req, res, next);
}

/**
 * Builds the whole HTTP application on an opened store: one origin for the API (`/api/*`),
 * its OpenAPI description (`/api/docs`) and the dashboard pages (proxied to the Next.js server).
 */
export async function createApp(
  config: AppConfig,
  store: MasterStore,
  logger: Logger,
  tls: TlsMaterial | null = null,
): Promise<NestExpressApplication> {
  const serverTls = new ServerTls(tls, config.httpPort);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot({ config, store, logger, tls: serverTls }), {
    ...(tls ? { httpsOptions: { cert: tls.cert, key: tls.key } } : {}),
    bodyParser: false,
    logger: new NestPinoLogger(logger),
    abortOnError: false,
  });
  app.set('trust proxy', config.trustProxy);
  app.disable('x-powered-by');
  // No ETag: every API answer is computed per request, and Express would hash each body (SHA-1) to
  // make one; a 1,000-row listing spent more time on that than on its query.
  app.set('etag', false);
  app.use(requestId());
  app.use(requestLog(logger));
  app.use(securityHeaders());
  // No JSON cookies (`j:` values): a cookie is always a string here.
  app.use(cookieParser(undefined, { decode: decodeCookie }));
  app.use('/api', ...jsonBody(config.maxBodyBytes));
  app.use(dashboardProxy(config.webUrl, logger));

  // The OpenAPI description is for signed-in people and tokens, like every non-health route.
  const guard = app.get(AuthGuard);
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (!req.path.startsWith('/api/docs')) return next();
    guard.authenticate(req as AppRequest).then(
      () => next(),
      (err: unknown) => {
        if (!(err instanceof ApiException)) return next(err);
        res
          .status(err.getStatus())
          .json({ ...(err.getResponse() as object), statusCode: err.getStatus(), requestId: (req as AppRequest).id });
      },
    );
  });
  const document = openApiDocument(app);
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs/openapi.json', yamlDocumentUrl: 'api/docs/openapi.yaml' });
  return app;
}
