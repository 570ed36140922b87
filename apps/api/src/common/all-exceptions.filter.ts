import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus } from '@nestjs/common';
import type { Response } from 'express';
import { StoreSuspendedError } from '@cacpq/db';
import type { ApiErrorBody, ErrorCode } from '@cacpq/sync-protocol';
import type { Logger } from 'pino';
import { ApiException } from './api-exception';
import { DISK_FULL_MESSAGE, isDiskFull } from './disk-full';
import type { AppRequest } from './request-context';

const STATUS_CODES: Record<number, ErrorCode> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'ALREADY_EXISTS',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE',
};

/**
 * Every error leaves as `{statusCode, code, message, requestId, details?}`. Nest's own HTTP
 * errors (an unknown route, say) get a code too; a write that found the disk full is a 507
 * `DISK_FULL` with a sentence (logged); anything else unexpected is a 500 that is logged with its
 * stack and answered without one.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') return;
    const req = host.switchToHttp().getRequest<AppRequest>();
    const res = host.switchToHttp().getResponse<Response>();
    const body = this.toBody(exception, req);
    if (exception instanceof ApiException) {
      for (const [k, v] of Object.entries(exception.headers)) res.setHeader(k, v);
    }
    if (exception instanceof StoreSuspendedError) res.setHeader('Retry-After', '15');
    if (body.code === 'DISK_FULL') res.setHeader('Retry-After', '60');
    if (body.statusCode >= 500) {
      this.logger.error({ err: exception, requestId: req.id, path: req.path }, 'request failed');
    }
    if (!res.headersSent) res.status(body.statusCode).json(body);
  }

  private toBody(exception: unknown, req: AppRequest): ApiErrorBody {
    const requestId = req.id;
    if (exception instanceof ApiException) {
      const { code, message, details } = exception.getResponse() as { code: ErrorCode; message: string; details?: unknown };
      return { statusCode: exception.getStatus(), code, message, requestId, ...(details !== undefined ? { details } : {}) };
    }
    if (exception instanceof StoreSuspendedError) {
      return { statusCode: 503, code: 'MAINTENANCE', message: exception.message, requestId };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const code = STATUS_CODES[status] ?? (status >= 500 ? 'INTERNAL' : 'VALIDATION_FAILED');
      const message =
        status === HttpStatus.NOT_FOUND ? `There is no ${req.method} ${req.path} on this server.` : sentence(exception.message);
      return { statusCode: status, code, message, requestId };
    }
    if (isDiskFull(exception)) {
      // SQLite rolled the statement or transaction back: a 507 the caller can retry once space returns, not a 500.
      return { statusCode: 507, code: 'DISK_FULL', message: DISK_FULL_MESSAGE, requestId };
    }
    return {
      statusCode: 500,
      code: 'INTERNAL',
      message: `The server failed to handle this request; it has been logged with request id ${requestId}.`,
      requestId,
    };
  }
}

function sentence(text: string): string {
  const t = text.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}
