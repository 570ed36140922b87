/** Stable, machine-readable error codes. Every 4xx/5xx body carries one of these. */
export const ERROR_CODES = {
  VALIDATION_FAILED: 400,
  MALFORMED_JSON: 400,
  UNAUTHENTICATED: 401,
  INVALID_CREDENTIALS: 401,
  INVALID_TOKEN: 401,
  SESSION_EXPIRED: 401,
  FORBIDDEN: 403,
  CSRF_FAILED: 403,
  ACCOUNT_DISABLED: 403,
  UNKNOWN_TABLE: 400,
  UNKNOWN_COLUMN: 400,
  FORBIDDEN_FIELD: 400,
  DUPLICATE_ROW: 400,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  ALREADY_EXISTS: 409,
  LAST_ADMIN: 409,
  NOT_EMPTY: 409,
  BATCH_ID_REUSED: 409,
  REQUEST_ID_REUSED: 409,
  REINITIALIZE: 409,
  /** The workstation file speaking is a second copy of another's (cloned, or an old copy put back). */
  WORKSTATION_CLONED: 409,
  ALREADY_RESOLVED: 409,
  CONFIRMATION_REQUIRED: 400,
  NOT_IN_BACKUP: 404,
  BACKUP_NOT_RESTORABLE: 409,
  INSUFFICIENT_DISK: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  SERVICE_UNAVAILABLE: 503,
  MAINTENANCE: 503,
  /** The server's disk (or a database file's size limit) is full: nothing of the request was saved. */
  DISK_FULL: 507,
  /** A workstation pushed a table or column the master does not have yet: its app is newer; the change waits in its outbox. */
  SCHEMA_AHEAD: 409,
  /** A migration that is not additive (a drop, a rename, a type change): refused, nothing applied. */
  SCHEMA_CHANGE_REFUSED: 400,
  /** A migration file SQLite cannot read. */
  SCHEMA_INVALID: 400,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Body of every error answer. `message` is a sentence meant for a person. */
export interface ApiErrorBody {
  statusCode: number;
  code: ErrorCode;
  message: string;
  requestId?: string;
  details?: unknown;
}

export function isApiErrorBody(value: unknown): value is ApiErrorBody {
  const v = value as Partial<ApiErrorBody> | null;
  return !!v && typeof v.code === 'string' && typeof v.message === 'string' && typeof v.statusCode === 'number';
}
