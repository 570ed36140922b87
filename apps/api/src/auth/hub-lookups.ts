import { prepared, type AccountSource, type DeviceTokenEntity, type Role, type SessionEntity, type UserEntity } from '@cacpq/db';
import type Database from 'better-sqlite3';

/**
 * The two lookups every authenticated request makes (its device token or its session, with the
 * account), as one prepared statement each instead of two TypeORM queries built, escaped and
 * prepared per request: that was about a fifth of an authenticated request's time.
 */
const USER_COLUMNS = `u.id AS u_id, u.username AS u_username, u.role AS u_role, u.password_hash AS u_password_hash,
  u.disabled AS u_disabled, u.created_at AS u_created_at, u.updated_at AS u_updated_at, u.last_login_at AS u_last_login_at,
  u.source AS u_source, u.directory_dn AS u_directory_dn, u.directory_refusal AS u_directory_refusal`;

interface UserColumns {
  u_id: number | null;
  u_username: string;
  u_role: Role;
  u_password_hash: string | null;
  u_disabled: number | boolean;
  u_created_at: string;
  u_updated_at: string;
  u_last_login_at: string | null;
  u_source: AccountSource;
  u_directory_dn: string | null;
  u_directory_refusal: string | null;
}

function userOf(r: UserColumns): UserEntity | null {
  if (r.u_id === null) return null;
  return {
    id: r.u_id,
    username: r.u_username,
    role: r.u_role,
    passwordHash: r.u_password_hash,
    disabled: Boolean(r.u_disabled),
    createdAt: r.u_created_at,
    updatedAt: r.u_updated_at,
    lastLoginAt: r.u_last_login_at,
    source: r.u_source,
    directoryDn: r.u_directory_dn,
    directoryRefusal: r.u_directory_refusal,
  };
}

/** The device token with this sha256 and its account (null when the account is gone), or undefined. */
export function tokenWithUser(
  hub: Database.Database,
  tokenHash: string,
): { token: DeviceTokenEntity; user: UserEntity | null } | undefined {
  const r = prepared(
    hub,
    `SELECT t.id, t.user_id, t.device, t.token_hash, t.created_at, t.created_by, t.last_used_at, t.revoked_at, t.revoked_by, ${USER_COLUMNS}
       FROM device_tokens t LEFT JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?`,
  ).get(tokenHash) as
    | (UserColumns & {
        id: string;
        user_id: number;
        device: string;
        token_hash: string;
        created_at: string;
        created_by: string;
        last_used_at: string | null;
        revoked_at: string | null;
        revoked_by: string | null;
      })
    | undefined;
  if (!r) return undefined;
  return {
    token: {
      id: r.id,
      userId: r.user_id,
      device: r.device,
      tokenHash: r.token_hash,
      createdAt: r.created_at,
      createdBy: r.created_by,
      lastUsedAt: r.last_used_at,
      revokedAt: r.revoked_at,
      revokedBy: r.revoked_by,
    },
    user: userOf(r),
  };
}

/** The session with this id (the sha256 of its cookie) and its account, or undefined. */
export function sessionWithUser(hub: Database.Database, id: string): { session: SessionEntity; user: UserEntity | null } | undefined {
  const r = prepared(
    hub,
    `SELECT s.id, s.user_id, s.csrf_token, s.created_at, s.expires_at, s.last_seen_at, s.ip, s.user_agent, ${USER_COLUMNS}
       FROM sessions s LEFT JOIN users u ON u.id = s.user_id WHERE s.id = ?`,
  ).get(id) as
    | (UserColumns & {
        id: string;
        user_id: number;
        csrf_token: string;
        created_at: string;
        expires_at: string;
        last_seen_at: string;
        ip: string | null;
        user_agent: string | null;
      })
    | undefined;
  if (!r) return undefined;
  return {
    session: {
      id: r.id,
      userId: r.user_id,
      csrfToken: r.csrf_token,
      createdAt: r.created_at,
      expiresAt: r.expires_at,
      lastSeenAt: r.last_seen_at,
      ip: r.ip,
      userAgent: r.user_agent,
    },
    user: userOf(r),
  };
}
