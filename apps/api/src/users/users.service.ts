import { Inject, Injectable } from '@nestjs/common';
import { MasterStore, UserEntity, sqlTime } from '@cacpq/db';
import type { CreateUserRequest, CreatedToken, TokenView, UpdateUserRequest, UserView } from '@cacpq/sync-protocol';
import type { Logger } from 'pino';
import type { Repository } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { article } from '../auth/auth.guard';
import { DeviceTokensService } from '../auth/device-tokens.service';
import { generatePassword, hashPassword } from '../auth/passwords';
import { Revocations } from '../auth/revocations';
import { SessionsService } from '../auth/sessions.service';
import { ApiException } from '../common/api-exception';
import type { AppRequest } from '../common/request-context';
import { LOGGER } from '../common/tokens';
import { AppConfig } from '../config/app-config';

/** Accounts in hub.db. Admin only; every change is audited. */
@Injectable()
export class UsersService {
  private readonly users: Repository<UserEntity>;

  constructor(
    store: MasterStore,
    private readonly config: AppConfig,
    private readonly tokens: DeviceTokensService,
    private readonly sessions: SessionsService,
    private readonly audit: AuditService,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly revocations: Revocations,
  ) {
    this.users = store.hub.getRepository(UserEntity);
  }

  /**
   * First start: no administrator yet → `admin` with ADMIN_PASSWORD, or a generated one printed once.
   * Called by the start-up once the server is listening, so a start that fails (port in use, bad
   * certificate) never makes, and never wastes, the one-time password.
   */
  async ensureFirstAdmin(): Promise<void> {
    // Local admins only: directory admins are no way in when the directory is down.
    const admins = await this.users.countBy({ role: 'admin', source: 'local' });
    if (admins > 0) return;
    const generated = this.config.adminPassword === undefined;
    const password = this.config.adminPassword ?? generatePassword();
    const existing = await this.users.findOneBy({ username: 'admin' });
    const now = sqlTime();
    if (existing) {
      await this.users.update(
        { id: existing.id },
        {
          role: 'admin',
          passwordHash: await hashPassword(password),
          disabled: false,
          source: 'local',
          directoryDn: null,
          directoryRefusal: null,
          updatedAt: now,
        },
      );
    } else {
      await this.users.insert({
        username: 'admin',
        role: 'admin',
        passwordHash: await hashPassword(password),
        disabled: false,
        createdAt: now,
        updatedAt: now,
        lastLoginAt: null,
      });
    }
    await this.audit.record(null, {
      action: 'user.create',
      actor: 'system',
      actorRole: null,
      target: 'admin',
      details: { role: 'admin', firstStart: true, passwordFrom: generated ? 'generated' : 'ADMIN_PASSWORD' },
    });
    this.logger.warn(
      { username: 'admin', passwordFrom: generated ? 'generated' : 'ADMIN_PASSWORD' },
      'first start: administrator account created',
    );
    const line = generated
      ? `First start: created the administrator account "admin" with the password  ${password}  (shown only this once; change it after signing in).`
      : 'First start: created the administrator account "admin" with the password from ADMIN_PASSWORD.';
    process.stdout.write(`\n  ${line}\n\n`);
  }

  async list(): Promise<UserView[]> {
    const rows = await this.users.find({ order: { username: 'ASC' } });
    return Promise.all(rows.map((u) => this.view(u)));
  }

  async get(username: string): Promise<UserEntity> {
    const user = await this.users.findOneBy({ username });
    if (!user) throw new ApiException('NOT_FOUND', `There is no user named "${username}".`);
    return user;
  }

  async create(req: AppRequest, body: CreateUserRequest): Promise<UserView> {
    if (await this.users.findOneBy({ username: body.username })) {
      throw new ApiException('ALREADY_EXISTS', `A user named "${body.username}" exists already.`);
    }
    const now = sqlTime();
    const passwordHash = body.password ? await hashPassword(body.password) : null;
    try {
      await this.users.insert({
        username: body.username,
        role: body.role,
        passwordHash,
        disabled: false,
        createdAt: now,
        updatedAt: now,
        lastLoginAt: null,
      });
    } catch (err) {
      // Two creations of one name at once: the unique index lets one through.
      if (String((err as { code?: string }).code ?? (err as Error).message).includes('SQLITE_CONSTRAINT')) {
        throw new ApiException('ALREADY_EXISTS', `A user named "${body.username}" exists already.`);
      }
      throw err;
    }
    await this.audit.record(req, { action: 'user.create', target: body.username, details: { role: body.role, password: !!body.password } });
    return this.view(await this.get(body.username));
  }

  async update(req: AppRequest, username: string, body: UpdateUserRequest): Promise<UserView> {
    const user = await this.get(username);
    if (user.source === 'directory' && (body.password !== undefined || (body.role !== undefined && body.role !== user.role))) {
      throw new ApiException(
        'VALIDATION_FAILED',
        body.password !== undefined
          ? `${user.username} signs in with the company directory and has no password here; change it in the directory.`
          : `The role of ${user.username} follows their directory groups; change their groups in the directory.`,
      );
    }
    const losesAdmin = user.role === 'admin' && !user.disabled && ((body.role && body.role !== 'admin') || body.disabled === true);
    if (losesAdmin) {
      // A local administrator stays: the way in when the directory is down (directory admins do not count).
      const local = user.source === 'local';
      const activeAdmins = await this.users.countBy({ role: 'admin', disabled: false, ...(local ? { source: 'local' as const } : {}) });
      if (activeAdmins <= 1) {
        throw new ApiException(
          'LAST_ADMIN',
          `${user.username} is the only active ${local ? 'local ' : ''}administrator; make another ${local ? 'local ' : ''}admin first.`,
        );
      }
    }
    const changes: Partial<UserEntity> = { updatedAt: sqlTime() };
    // An administrator's own disabling or enabling of a directory account replaces the directory's refusal.
    if (user.source === 'directory' && body.disabled !== undefined) changes.directoryRefusal = null;
    if (body.role !== undefined) changes.role = body.role;
    if (body.disabled !== undefined) changes.disabled = body.disabled;
    if (body.password !== undefined) changes.passwordHash = await hashPassword(body.password);
    await this.users.update({ id: user.id }, changes);
    // A disabled account or a new password ends the account's open dashboard sessions; disabling
    // also ends the socket connections its device tokens hold open; a new role applies to them at once.
    if (body.disabled === true) {
      this.revocations.publish({
        reason: 'account-disabled',
        message: `The account ${user.username} has been disabled.`,
        matches: (p) => p.userId === user.id,
      });
      await this.sessions.destroyAllFor(user.id, 'account-disabled');
    } else if (body.password !== undefined) await this.sessions.destroyAllFor(user.id, 'password-changed');
    if (body.role !== undefined && body.role !== user.role) {
      this.revocations.publish({
        reason: 'role-changed',
        message: `The account ${user.username} is now ${article(body.role)} ${body.role}.`,
        matches: (p) => p.userId === user.id,
        role: body.role,
      });
    }
    await this.audit.record(req, {
      action: 'user.update',
      target: user.username,
      details: {
        ...(body.role !== undefined ? { role: body.role } : {}),
        ...(body.disabled !== undefined ? { disabled: body.disabled } : {}),
        ...(body.password !== undefined ? { password: 'changed' } : {}),
      },
    });
    return this.view(await this.get(username));
  }

  async issueToken(req: AppRequest, username: string, device: string): Promise<CreatedToken> {
    const user = await this.get(username);
    const created = await this.tokens.issue(user, device, req.principal!.username);
    await this.audit.record(req, { action: 'token.issue', target: user.username, details: { tokenId: created.id, device } });
    return created;
  }

  async listTokens(username: string): Promise<TokenView[]> {
    return this.tokens.listFor(await this.get(username));
  }

  async revokeToken(req: AppRequest, id: string): Promise<TokenView> {
    const revoked = await this.tokens.revoke(id, req.principal!.username);
    await this.audit.record(req, { action: 'token.revoke', target: revoked.username, details: { tokenId: id, device: revoked.device } });
    return revoked;
  }

  private async view(u: UserEntity): Promise<UserView> {
    return {
      username: u.username,
      role: u.role,
      disabled: !!u.disabled,
      hasPassword: !!u.passwordHash,
      source: u.source,
      createdAt: u.createdAt,
      updatedAt: u.updatedAt,
      lastLoginAt: u.lastLoginAt,
      activeTokens: await this.tokens.countActive(u.id),
    };
  }
}
