export class SyncError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number | null = null,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'SyncError';
  }
}

/**
 * The server answered something that is not what the protocol says (a field missing or of another
 * kind): checked at the SDK's edge, before anything of the answer is used. Code `BAD_RESPONSE`.
 */
export class ProtocolError extends SyncError {
  constructor(
    /** The request answered, as `METHOD /path` (without its query). */
    readonly endpoint: string,
    /** What is wrong, e.g. `results.0.version: expected number, received string`. */
    readonly problem: string,
    status: number | null = null,
  ) {
    super(
      'BAD_RESPONSE',
      `The server's answer to ${endpoint} is not what the sync protocol says (${problem}); is it a CACPQ server of a matching version?`,
      status,
    );
    this.name = 'ProtocolError';
  }
}
