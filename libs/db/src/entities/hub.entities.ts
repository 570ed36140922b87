import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

export const ROLES = ['admin', 'manager', 'user'] as const;
export type Role = (typeof ROLES)[number];

@Entity({ name: 'users' })
export class UserEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Index('idx_users_username', { unique: true })
  @Column({ type: 'text' })
  username!: string;

  @Column({ type: 'text' })
  role!: Role;

  /** scrypt hash (`scrypt$N$r$p$salt$hash`); null for an account that only uses device tokens. */
  @Column({ name: 'password_hash', type: 'text', nullable: true })
  passwordHash!: string | null;

  @Column({ type: 'boolean', default: false })
  disabled!: boolean;

  @Column({ name: 'created_at', type: 'text' })
  createdAt!: string;

  @Column({ name: 'updated_at', type: 'text' })
  updatedAt!: string;

  @Column({ name: 'last_login_at', type: 'text', nullable: true })
  lastLoginAt!: string | null;

  /** `local`: its own password (or device tokens only); `directory`: signs in with the company directory (no password here). */
  @Column({ type: 'text', default: 'local' })
  source!: AccountSource;

  /** The directory entry it was last found at (directory accounts). */
  @Column({ name: 'directory_dn', type: 'text', nullable: true })
  directoryDn!: string | null;

  /** Why the directory last refused the account (it is then disabled); null while the directory lets it in. */
  @Column({ name: 'directory_refusal', type: 'text', nullable: true })
  directoryRefusal!: string | null;
}

export const ACCOUNT_SOURCES = ['local', 'directory'] as const;
export type AccountSource = (typeof ACCOUNT_SOURCES)[number];

@Entity({ name: 'device_tokens' })
export class DeviceTokenEntity {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ name: 'user_id', type: 'integer' })
  userId!: number;

  @ManyToOne(() => UserEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user?: UserEntity;

  @Column({ type: 'text' })
  device!: string;

  /** sha256 of the token; the token itself is shown once and never stored. */
  @Index('idx_device_tokens_hash', { unique: true })
  @Column({ name: 'token_hash', type: 'text' })
  tokenHash!: string;

  @Column({ name: 'created_at', type: 'text' })
  createdAt!: string;

  @Column({ name: 'created_by', type: 'text' })
  createdBy!: string;

  @Column({ name: 'last_used_at', type: 'text', nullable: true })
  lastUsedAt!: string | null;

  @Column({ name: 'revoked_at', type: 'text', nullable: true })
  revokedAt!: string | null;

  @Column({ name: 'revoked_by', type: 'text', nullable: true })
  revokedBy!: string | null;
}

@Entity({ name: 'sessions' })
export class SessionEntity {
  /** sha256 of the session cookie value. */
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ name: 'user_id', type: 'integer' })
  userId!: number;

  @ManyToOne(() => UserEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'user_id' })
  user?: UserEntity;

  @Column({ name: 'csrf_token', type: 'text' })
  csrfToken!: string;

  @Column({ name: 'created_at', type: 'text' })
  createdAt!: string;

  @Index('idx_sessions_expires_at')
  @Column({ name: 'expires_at', type: 'text' })
  expiresAt!: string;

  @Column({ name: 'last_seen_at', type: 'text' })
  lastSeenAt!: string;

  @Column({ type: 'text', nullable: true })
  ip!: string | null;

  @Column({ name: 'user_agent', type: 'text', nullable: true })
  userAgent!: string | null;
}

@Entity({ name: 'audit_log' })
export class AuditEntryEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Index('idx_audit_log_timestamp')
  @Column({ type: 'text' })
  timestamp!: string;

  @Column({ type: 'text' })
  actor!: string;

  @Column({ name: 'actor_role', type: 'text', nullable: true })
  actorRole!: string | null;

  @Column({ type: 'text' })
  action!: string;

  @Column({ type: 'text', nullable: true })
  target!: string | null;

  @Column({ type: 'text' })
  outcome!: 'ok' | 'denied' | 'failed';

  /** JSON object with the action's particulars (never a secret). */
  @Column({ type: 'text', nullable: true })
  details!: string | null;

  @Column({ type: 'text', nullable: true })
  ip!: string | null;

  @Column({ name: 'request_id', type: 'text', nullable: true })
  requestId!: string | null;
}

@Entity({ name: 'settings' })
export class SettingEntity {
  @PrimaryColumn({ type: 'text' })
  key!: string;

  /** JSON value. */
  @Column({ type: 'text' })
  value!: string;

  @Column({ name: 'updated_at', type: 'text' })
  updatedAt!: string;

  @Column({ name: 'updated_by', type: 'text', nullable: true })
  updatedBy!: string | null;
}

export const HUB_ENTITIES = [UserEntity, DeviceTokenEntity, SessionEntity, AuditEntryEntity, SettingEntity];
