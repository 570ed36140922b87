import { HttpException } from '@nestjs/common';
import { ERROR_CODES, type ErrorCode } from '@cacpq/sync-protocol';

/** An answer with a stable code and a sentence for a person. */
export class ApiException extends HttpException {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super({ code, message, details }, ERROR_CODES[code]);
  }
}
