import type { Request } from 'express';
import type { Role } from '@cacpq/sync-protocol';

/** Who is calling: set by the auth guard. */
export interface Principal {
  kind: 'session' | 'token' | 'local';
  userId: number | null;
  username: string;
  role: Role;
  sessionId?: string;
  tokenId?: string;
  csrfToken?: string;
}

export interface AppRequest extends Request {
  id: string;
  principal?: Principal;
  /** The JSON body as it arrived (idempotency hashes it). */
  rawBody?: Buffer;
  /** When the request arrived, before its body was read (ms since the epoch): workstation clocks are measured against it. */
  receivedAt: number;
}
