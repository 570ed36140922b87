import { Injectable } from '@nestjs/common';
import { MasterStore, UserEntity, sqlTime } from '@cacpq/db';
import type { ChangePasswordRequest, LoginRequest, LoginResponse } from '@cacpq/sync-protocol';
import type { Repository } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { ApiException } from '../common/api-exception';
import type { AppRequest, Principal } from '../common/request-context';
import { AppConfig } from '../config/app-config';
import { DirectoryService } from './directory/directory.service';
import { LoginRateLimiter } from './login-rate-limiter';
import { hashPassword, needsRehash, verifyPassword } from './passwords';
import { SessionsService } from './sessions.service';

@Injectable()
export class AuthService {
  private readonly users: Repository<UserEntity>;
  private readonly limiter: LoginRateLimiter;

  constructor(
    store: MasterStore,
    config: AppConfig,
    private readonly sessions: SessionsService,
    private readonly audit: AuditService,
    private readonly directory: DirectoryService,
  ) {
    this.users = store.hub.getRepository(UserEntity);
    this.limiter = new LoginRateLimiter(config.loginMaxFailures, config.loginWindowMinutes * 60_000);
  }

  async login(req: AppRequest, body: LoginRequest): Promise<LoginResponse & { secret: string }> {
    const ip = req.ip ?? 'unknown';
    await this.countAttempt(req, 'auth.login', body.username, ip, 'Too many failed sign-ins');
    const user = await this.users.findOneBy({ username: body.username });
    // A local account of the name signs in with its own password (the break-glass admin among them), whatever the directory says.
    if (this.directory.enabled && (!user || user.source === 'directory')) return this.directoryLogin(req, body, ip);
    const ok = await verifyPassword(body.password, user?.passwordHash ?? null);
    if (!user || !ok) {
      await this.audit.record(req, { action: 'auth.login', actor: body.username, actorRole: null, outcome: 'failed' });
      throw new ApiException('INVALID_CREDENTIALS', 'Wrong username or password.');
    }
    if (user.disabled) {
      await this.audit.record(req, {
        action: 'auth.login',
        actor: user.username,
        actorRole: user.role,
        outcome: 'denied',
        details: { reason: 'disabled' },
      });
      throw new ApiException('ACCOUNT_DISABLED', `The account ${user.username} is disabled; ask an administrator.`);
    }
    this.limiter.recordSuccess(body.username, ip);
    const { secret, session } = await this.sessions.create(user, { ip, userAgent: req.get('user-agent') ?? null });
    // A hash of an earlier version (weaker parameters) is made again now that the password is known.
    const rehashed = needsRehash(user.passwordHash) ? { passwordHash: await hashPassword(body.password) } : {};
    await this.users.update({ id: user.id }, { lastLoginAt: sqlTime(), ...rehashed });
    if (rehashed.passwordHash)
      await this.audit.record(req, {
        action: 'auth.rehash',
        actor: user.username,
        actorRole: user.role,
        target: user.username,
        details: { algorithm: 'argon2id' },
      });
    await this.audit.record(req, { action: 'auth.login', actor: user.username, actorRole: user.role });
    return {
      secret,
      user: { username: user.username, role: user.role },
      csrfToken: session.csrfToken,
      expiresAt: session.expiresAt,
    };
  }

  /**
   * A sign-in with the company directory: the domain password checked by binding as the user,
   * the role from their groups, the hub.db account made or brought up to date. Failures count
   * against the same limit as local ones; the directory being unreachable is a 503 and is not counted.
   */
  private async directoryLogin(req: AppRequest, body: LoginRequest, ip: string): Promise<LoginResponse & { secret: string }> {
    const source = 'directory';
    let verdict: Awaited<ReturnType<DirectoryService['authenticate']>>;
    try {
      verdict = await this.directory.authenticate(body.username, body.password);
    } catch (err) {
      this.limiter.takeBack(body.username, ip);
      await this.audit.record(req, {
        action: 'auth.login',
        actor: body.username,
        actorRole: null,
        outcome: 'failed',
        details: { source, reason: 'directory unavailable' },
      });
      throw err;
    }
    if (verdict === 'invalid') {
      await this.audit.record(req, { action: 'auth.login', actor: body.username, actorRole: null, outcome: 'failed', details: { source } });
      throw new ApiException('INVALID_CREDENTIALS', 'Wrong username or password.');
    }
    if (verdict.kind === 'refused') {
      // The right password, but the directory does not let them in: an account here ends with it.
      const known = await this.users.findOneBy({ username: body.username });
      if (known?.source === 'directory') await this.directory.refuse(req, known, verdict);
      await this.audit.record(req, {
        action: 'auth.login',
        actor: known?.username ?? body.username,
        actorRole: known?.role ?? null,
        outcome: 'denied',
        details: { source, reason: verdict.reason },
      });
      throw new ApiException(verdict.reason === 'disabled' ? 'ACCOUNT_DISABLED' : 'FORBIDDEN', verdict.sentence);
    }
    let user: UserEntity;
    try {
      user = await this.directory.admit(req, verdict);
    } catch (err) {
      await this.audit.record(req, {
        action: 'auth.login',
        actor: verdict.username,
        actorRole: verdict.role,
        outcome: 'denied',
        details: { source, reason: err instanceof ApiException && err.code === 'ACCOUNT_DISABLED' ? 'disabled' : 'refused' },
      });
      throw err;
    }
    this.limiter.recordSuccess(body.username, ip);
    const { secret, session } = await this.sessions.create(user, { ip, userAgent: req.get('user-agent') ?? null });
    return this.signedIn(req, user, secret, session);
  }

  private async signedIn(
    req: AppRequest,
    user: UserEntity,
    secret: string,
    session: { csrfToken: string; expiresAt: string },
  ): Promise<LoginResponse & { secret: string }> {
    await this.users.update({ id: user.id }, { lastLoginAt: sqlTime() });
    await this.audit.record(req, { action: 'auth.login', actor: user.username, actorRole: user.role, details: { source: 'directory' } });
    return { secret, user: { username: user.username, role: user.role }, csrfToken: session.csrfToken, expiresAt: session.expiresAt };
  }

  async logout(req: AppRequest, principal: Principal): Promise<void> {
    if (principal.sessionId) await this.sessions.destroy(principal.sessionId);
    await this.audit.record(req, { action: 'auth.logout' });
  }

  async changePassword(req: AppRequest, principal: Principal, body: ChangePasswordRequest): Promise<void> {
    const user = principal.userId !== null ? await this.users.findOneBy({ id: principal.userId }) : null;
    if (!user) throw new ApiException('FORBIDDEN', `${principal.username} has no password to change.`);
    if (user.source === 'directory') {
      throw new ApiException(
        'VALIDATION_FAILED',
        `${user.username} signs in with the company directory: change the password in the directory (on a PC of the domain, or with its own tools), not here.`,
      );
    }
    // Guessing the current password from a signed-in browser is guessing the account's password:
    // it counts against the same limit as sign-ins.
    const ip = req.ip ?? 'unknown';
    await this.countAttempt(req, 'auth.password', user.username, ip, 'Too many wrong current passwords');
    if (!(await verifyPassword(body.currentPassword, user.passwordHash))) {
      await this.audit.record(req, { action: 'auth.password', target: user.username, outcome: 'failed' });
      throw new ApiException('INVALID_CREDENTIALS', 'The current password is wrong.');
    }
    this.limiter.recordSuccess(user.username, ip);
    await this.users.update({ id: user.id }, { passwordHash: await hashPassword(body.newPassword), updatedAt: sqlTime() });
    // Anyone else signed in with the old password is signed out; this session stays.
    await this.sessions.destroyOthers(user.id, principal.sessionId);
    await this.audit.record(req, { action: 'auth.password', target: user.username });
  }

  /**
   * Refuses a password attempt while `username` at `ip` is over the failure limit (429 with
   * Retry-After; the lock-out audited once per window), else counts it as a failure before the
   * slow password check, so parallel guesses cannot slip past; a success takes it back.
   */
  private async countAttempt(req: AppRequest, action: string, username: string, ip: string, what: string): Promise<void> {
    const wait = this.limiter.retryAfterSeconds(username, ip);
    if (wait > 0) {
      if (this.limiter.firstRefusal(username, ip)) {
        await this.audit.record(req, {
          action,
          actor: req.principal?.username ?? username,
          actorRole: req.principal?.role ?? null,
          target: action === 'auth.password' ? username : undefined,
          outcome: 'denied',
          details: { reason: 'rate limited' },
        });
      }
      throw new ApiException('RATE_LIMITED', `${what}; try again in ${wait} seconds.`, undefined, { 'Retry-After': String(wait) });
    }
    this.limiter.recordFailure(username, ip);
  }
}
