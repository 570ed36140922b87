import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
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
import { AppConfig } from './config/app-config';
import { SERVER_VERSION } from './version';
import { dashboardProxy, isServerPath } from './web/dashboard-proxy';

/**
 * Builds the whole HTTP application on an opened store: one origin for the API (`/api/*`),
 * its OpenAPI description (`/api/docs`) and the dashboard pages (proxied to the Next.js server).
 */
export async function createApp(config: AppConfig, store: MasterStore, logger: Logger): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot({ config, store, logger }), {
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
  // Strict headers for the API; the dashboard pages need inline scripts for hydration.
  const apiHeaders = helmet({
    contentSecurityPolicy: { directives: { defaultSrc: ["'self'"], styleSrc: ["'self'", "'unsafe-inline'"], imgSrc: ["'self'", 'data:'] } },
  });
  const pageHeaders = helmet({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", "'unsafe-inline'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        connectSrc: ["'self'", 'ws:', 'wss:'],
      },
    },
  });
  app.use((req: Request, res: Response, next: NextFunction) => (isServerPath(req.path) ? apiHeaders : pageHeaders)(req, res, next));
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
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('CACPQ Sync Server')
      .setDescription(
        'Sync protocol, accounts and operations of the CACPQ master store. Errors are {statusCode, code, message, requestId}.',
      )
      .setVersion(SERVER_VERSION)
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'Device token' })
      .addCookieAuth('cacpq_session')
      .build(),
  );
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs/openapi.json', yamlDocumentUrl: 'api/docs/openapi.yaml' });
  return app;
}
