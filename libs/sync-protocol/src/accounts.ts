import { z } from 'zod';

export const ROLE_VALUES = ['admin', 'manager', 'user'] as const;
export const Role = z.enum(ROLE_VALUES);
export type Role = z.infer<typeof Role>;

/** The rules of a username and a password (the dashboard checks them before sending, with its own sentences). */
export const ACCOUNT_RULES = {
  usernameMin: 2,
  usernameMax: 64,
  usernamePattern: /^[A-Za-z0-9][A-Za-z0-9._@-]*$/,
  passwordMin: 10,
  passwordMax: 200,
} as const;

export const Username = z
  .string()
  .min(ACCOUNT_RULES.usernameMin, `must be at least ${ACCOUNT_RULES.usernameMin} characters`)
  .max(ACCOUNT_RULES.usernameMax, `must be at most ${ACCOUNT_RULES.usernameMax} characters`)
  .regex(ACCOUNT_RULES.usernamePattern, 'may contain only letters, digits and . _ @ -, starting with a letter or digit');

export const Password = z
  .string()
  .min(ACCOUNT_RULES.passwordMin, `must be at least ${ACCOUNT_RULES.passwordMin} characters`)
  .max(ACCOUNT_RULES.passwordMax, `must be at most ${ACCOUNT_RULES.passwordMax} characters`);

export const LoginRequest = z.strictObject({
  username: z.string().min(1, 'is required').max(64, 'must be at most 64 characters'),
  password: z.string().min(1, 'is required').max(200, 'must be at most 200 characters'),
});
export type LoginRequest = z.infer<typeof LoginRequest>;

export const SessionUser = z.object({ username: z.string(), role: Role });
export type SessionUser = z.infer<typeof SessionUser>;

export const LoginResponse = z.object({
  user: SessionUser,
  csrfToken: z.string(),
  expiresAt: z.string(),
});
export type LoginResponse = z.infer<typeof LoginResponse>;

export const MeResponse = z.object({
  user: SessionUser,
  via: z.enum(['session', 'token', 'local']),
  csrfToken: z.string().nullable(),
});
export type MeResponse = z.infer<typeof MeResponse>;

export const ChangePasswordRequest = z.strictObject({
  currentPassword: z.string().min(1, 'is required').max(200),
  newPassword: Password,
});
export type ChangePasswordRequest = z.infer<typeof ChangePasswordRequest>;

export const CreateUserRequest = z.strictObject({
  username: Username,
  role: Role,
  password: Password.optional(),
});
export type CreateUserRequest = z.infer<typeof CreateUserRequest>;

export const UpdateUserRequest = z
  .strictObject({
    role: Role.optional(),
    disabled: z.boolean().optional(),
    password: Password.optional(),
  })
  .refine((v) => Object.keys(v).length > 0, { message: 'name at least one of role, disabled or password' });
export type UpdateUserRequest = z.infer<typeof UpdateUserRequest>;

export const UserView = z.object({
  username: z.string(),
  role: Role,
  disabled: z.boolean(),
  hasPassword: z.boolean(),
  /** `directory`: signs in with the company directory (LDAP); no password here, role from its groups. */
  source: z.enum(['local', 'directory']),
  createdAt: z.string(),
  updatedAt: z.string(),
  lastLoginAt: z.string().nullable(),
  activeTokens: z.number().int(),
});
export type UserView = z.infer<typeof UserView>;

export const CreateTokenRequest = z.strictObject({
  device: z.string().trim().min(1, 'is required').max(100, 'must be at most 100 characters'),
});
export type CreateTokenRequest = z.infer<typeof CreateTokenRequest>;

export const TokenView = z.object({
  id: z.string(),
  username: z.string(),
  device: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
export type TokenView = z.infer<typeof TokenView>;

/** `201` answer of token creation: the only time the token itself is ever shown. */
export const CreatedToken = TokenView.extend({ token: z.string() });
export type CreatedToken = z.infer<typeof CreatedToken>;

export const AUDIT_OUTCOMES = ['ok', 'denied', 'failed'] as const;

export const AuditEntryView = z.object({
  id: z.number().int(),
  timestamp: z.string(),
  actor: z.string(),
  actorRole: z.string().nullable(),
  action: z.string(),
  target: z.string().nullable(),
  outcome: z.enum(AUDIT_OUTCOMES),
  details: z.unknown().nullable(),
  ip: z.string().nullable(),
  requestId: z.string().nullable(),
});
export type AuditEntryView = z.infer<typeof AuditEntryView>;

const AuditInstant = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time, e.g. 2026-11-24T08:00:00Z' });

export const AuditQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  before: z.coerce.number().int().min(1).optional(),
  actor: z.string().max(64).optional(),
  action: z.string().max(64).optional(),
  outcome: z.enum(AUDIT_OUTCOMES).optional(),
  /** Entries at or after this instant. */
  from: AuditInstant.optional(),
  /** Entries before this instant. */
  to: AuditInstant.optional(),
});
export type AuditQuery = z.infer<typeof AuditQuery>;
