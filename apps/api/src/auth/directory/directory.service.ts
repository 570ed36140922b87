import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { MasterStore, UserEntity, sqlTime } from '@cacpq/db';
import { Username, type Role } from '@cacpq/sync-protocol';
import type { Logger } from 'pino';
import { IsNull, Not, type Repository } from 'typeorm';
import { AuditService } from '../../audit/audit.service';
import { Revocations } from '../revocations';
import { SessionsService } from '../sessions.service';
import { ApiException } from '../../common/api-exception';
import type { AppRequest } from '../../common/request-context';
import { LOGGER } from '../../common/tokens';
import { AppConfig } from '../../config/app-config';
import { DirectoryUnavailableError, LdapDirectory, type DirectoryVerdict } from './ldap-directory';

/** How long a session's check against the directory is reused: a dashboard page makes several requests at once. */
export const SESSION_CHECK_MS = 2000;
const TOKEN_CHECK = 'directory-token-check';

type SessionCheck = { kind: 'allowed'; role: Role } | { kind: 'refused'; sentence: string } | { kind: 'unavailable'; sentence: string };

/**
 * Accounts from the company directory: creates and updates their hub.db rows at sign-in (role
 * from their groups), checks a directory user's dashboard session against the directory at its
 * requests (a verdict is reused for SESSION_CHECK_MS), and every LDAP_TOKEN_CHECK_MINUTES checks
 * every directory account, so one the directory dropped is disabled with its device tokens. An
 * account the directory refused is disabled with the reason in `directory_refusal`; when the
 * directory lets it in again (a sign-in or a check), it is enabled again. An administrator's own
 * disabling (no reason) is never undone here.
 */
@Injectable()
export class DirectoryService implements OnApplicationBootstrap {
  private readonly users: Repository<UserEntity>;
  private readonly directory: LdapDirectory | null;
  private readonly sessionChecks = new Map<number, { at: number; result: Promise<SessionCheck> }>();
  private checking = false;
  private readonly tokenCheckMs: number;

  constructor(
    store: MasterStore,
    config: AppConfig,
    private readonly sessions: SessionsService,
    private readonly revocations: Revocations,
    private readonly audit: AuditService,
    private readonly scheduler: SchedulerRegistry,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.users = store.hub.getRepository(UserEntity);
    this.directory = config.ldap ? new LdapDirectory(config.ldap) : null;
    this.tokenCheckMs = config.ldap?.tokenCheckMs ?? 0;
  }

  get enabled(): boolean {
    return this.directory !== null;
  }

  onApplicationBootstrap(): void {
    if (!this.directory) return;
    const timer = setInterval(() => void this.checkAccounts(), this.tokenCheckMs);
    timer.unref();
    this.scheduler.addInterval(TOKEN_CHECK, timer);
    this.logger.info({ url: this.directory.url, everyMs: this.tokenCheckMs }, 'directory sign-in on');
  }

  /** A domain password checked: 'invalid' (unknown name or wrong password) or the verdict; throws 503 when the directory cannot be asked. */
  async authenticate(username: string, password: string): Promise<DirectoryVerdict | 'invalid'> {
    try {
      return await this.directory!.authenticate(username, password);
    } catch (err) {
      if (err instanceof DirectoryUnavailableError) {
        this.logger.warn({ url: this.directory!.url, err: err.message }, 'directory unavailable at sign-in');
        throw new ApiException('SERVICE_UNAVAILABLE', err.message);
      }
      throw err;
    }
  }

  /**
   * The hub.db account of a directory user the directory allowed: created at the first sign-in,
   * its role and DN brought up to date, enabled again when the directory had refused it. A local
   * account of that name wins (it is refused here), as does an administrator's disabling.
   */
  async admit(req: AppRequest, verdict: Extract<DirectoryVerdict, { kind: 'allowed' }>): Promise<UserEntity> {
    const existing = await this.users.findOneBy({ username: verdict.username });
    if (existing && existing.source !== 'directory') {
      throw new ApiException(
        'FORBIDDEN',
        `A local account named ${existing.username} exists on this server; it signs in with its own password, not the directory's.`,
      );
    }
    if (!existing) {
      const valid = Username.safeParse(verdict.username);
      if (!valid.success) {
        throw new ApiException(
          'FORBIDDEN',
          `The directory name "${verdict.username}" cannot be an account name here: it ${valid.error.issues[0].message}.`,
        );
      }
      const now = sqlTime();
      try {
        await this.users.insert({
          username: verdict.username,
          role: verdict.role,
          passwordHash: null,
          disabled: false,
          createdAt: now,
          updatedAt: now,
          lastLoginAt: null,
          source: 'directory',
          directoryDn: verdict.dn,
          directoryRefusal: null,
        });
        await this.audit.record(req, {
          action: 'user.create',
          actor: 'directory',
          actorRole: null,
          target: verdict.username,
          details: { role: verdict.role, source: 'directory', dn: verdict.dn },
        });
      } catch (err) {
        // Two first sign-ins at once: the unique index lets one insert through.
        if (!String((err as { code?: string }).code ?? (err as Error).message).includes('SQLITE_CONSTRAINT')) throw err;
      }
      return (await this.users.findOneBy({ username: verdict.username }))!;
    }
    if (existing.disabled && existing.directoryRefusal === null) {
      throw new ApiException('ACCOUNT_DISABLED', `The account ${existing.username} is disabled; ask an administrator.`);
    }
    return this.follow(req, existing, verdict);
  }

  /**
   * Ends a directory user's access the directory refused: disabled with the reason, sessions
   * ended (open sockets too), device tokens refused from their next request. Audited once.
   */
  async refuse(req: AppRequest | null, user: UserEntity, verdict: Extract<DirectoryVerdict, { kind: 'refused' }>): Promise<void> {
    this.sessionChecks.delete(user.id);
    if (user.disabled && user.directoryRefusal === null) return; // disabled by an administrator: stays so
    if (user.disabled) {
      if (user.directoryRefusal !== verdict.sentence) await this.users.update({ id: user.id }, { directoryRefusal: verdict.sentence });
      return;
    }
    await this.users.update({ id: user.id }, { disabled: true, directoryRefusal: verdict.sentence, updatedAt: sqlTime() });
    this.revocations.publish({
      reason: 'account-disabled',
      message: `The account ${user.username} has been disabled: ${verdict.sentence}`,
      matches: (p) => p.userId === user.id,
    });
    await this.sessions.destroyAllFor(user.id, 'account-disabled');
    await this.audit.record(req, {
      action: 'user.update',
      actor: 'directory',
      actorRole: null,
      target: user.username,
      details: { disabled: true, source: 'directory', reason: verdict.reason },
    });
    this.logger.warn({ username: user.username, reason: verdict.reason }, 'directory account disabled: the directory refused it');
  }

  /**
   * A directory user's dashboard session, checked against the directory before the request goes
   * on: the role it has now, or 401 (the session is ended, the account disabled) when the
   * directory no longer lets them in, or 503 when the directory cannot be asked (they stay signed in).
   */
  async confirmSession(req: AppRequest, user: UserEntity): Promise<Role> {
    if (!this.directory) {
      throw new ApiException(
        'UNAUTHENTICATED',
        `${user.username} signs in with the company directory, and directory sign-in is off on this server (LDAP_URL is not set).`,
      );
    }
    const now = Date.now();
    let cached = this.sessionChecks.get(user.id);
    if (!cached || now - cached.at >= SESSION_CHECK_MS) {
      cached = { at: now, result: this.checkSession(req, user) };
      this.sessionChecks.set(user.id, cached);
      if (this.sessionChecks.size > 1000) {
        for (const [id, c] of this.sessionChecks) if (now - c.at >= SESSION_CHECK_MS) this.sessionChecks.delete(id);
      }
    }
    const result = await cached.result;
    if (result.kind === 'allowed') return result.role;
    if (result.kind === 'unavailable') throw new ApiException('SERVICE_UNAVAILABLE', result.sentence);
    throw new ApiException('UNAUTHENTICATED', `Your session has ended: ${result.sentence}`);
  }

  private async checkSession(req: AppRequest, user: UserEntity): Promise<SessionCheck> {
    let verdict: DirectoryVerdict | undefined;
    try {
      verdict = (await this.directory!.check([user.username])).get(user.username);
    } catch (err) {
      if (!(err instanceof DirectoryUnavailableError)) throw err;
      this.logger.warn({ url: this.directory!.url, err: err.message }, 'directory unavailable for a session check');
      return { kind: 'unavailable', sentence: err.message };
    }
    if (!verdict) return { kind: 'unavailable', sentence: `The company directory at ${this.directory!.url} gave no answer.` };
    if (verdict.kind === 'refused') {
      await this.refuse(req, user, verdict);
      return { kind: 'refused', sentence: verdict.sentence };
    }
    const now = await this.follow(req, user, verdict);
    return { kind: 'allowed', role: now.role };
  }

  /** Every LDAP_TOKEN_CHECK_MINUTES: each directory account checked; one refused is disabled (its tokens with it), one allowed again enabled. */
  async checkAccounts(): Promise<{ checked: number; disabled: number } | null> {
    if (!this.directory || this.checking) return null;
    this.checking = true;
    try {
      const accounts = await this.users.find({
        where: [
          { source: 'directory', disabled: false },
          { source: 'directory', directoryRefusal: Not(IsNull()) },
        ],
      });
      if (accounts.length === 0) return { checked: 0, disabled: 0 };
      let verdicts: Map<string, DirectoryVerdict>;
      try {
        verdicts = await this.directory.check(accounts.map((a) => a.username));
      } catch (err) {
        if (!(err instanceof DirectoryUnavailableError)) throw err;
        // Workstations keep syncing while the directory is away; the next check tries again.
        this.logger.warn({ url: this.directory.url, err: err.message }, 'directory unavailable: directory accounts not checked this time');
        return null;
      }
      let disabled = 0;
      for (const account of accounts) {
        const verdict = verdicts.get(account.username)!;
        if (verdict.kind === 'refused') {
          if (!account.disabled) disabled++;
          await this.refuse(null, account, verdict);
        } else if (!account.disabled || account.directoryRefusal !== null) {
          await this.follow(null, account, verdict);
        }
      }
      return { checked: accounts.length, disabled };
    } catch (err) {
      this.logger.error({ err }, 'directory account check failed');
      return null;
    } finally {
      this.checking = false;
    }
  }

  /** The account brought in line with an allowing verdict: enabled again if the directory had refused it, its role and DN updated. */
  private async follow(
    req: AppRequest | null,
    user: UserEntity,
    verdict: Extract<DirectoryVerdict, { kind: 'allowed' }>,
  ): Promise<UserEntity> {
    const changes: Partial<UserEntity> = {};
    if (user.disabled && user.directoryRefusal !== null) Object.assign(changes, { disabled: false, directoryRefusal: null });
    if (user.role !== verdict.role) changes.role = verdict.role;
    if (user.directoryDn !== verdict.dn) changes.directoryDn = verdict.dn;
    if (Object.keys(changes).length === 0) return user;
    await this.users.update({ id: user.id }, { ...changes, updatedAt: sqlTime() });
    if (changes.role) {
      // Open socket connections carry the role they were opened with: a stream that needs another ends.
      this.revocations.publish({
        reason: 'role-changed',
        message: `The account ${user.username} is now ${verdict.role === 'admin' ? 'an' : 'a'} ${verdict.role} (directory groups).`,
        matches: (p) => p.userId === user.id,
        role: verdict.role,
      });
    }
    if (changes.role || changes.disabled === false) {
      await this.audit.record(req, {
        action: 'user.update',
        actor: 'directory',
        actorRole: null,
        target: user.username,
        details: {
          source: 'directory',
          ...(changes.role ? { role: changes.role, previousRole: user.role } : {}),
          ...(changes.disabled === false ? { disabled: false } : {}),
        },
      });
    }
    return { ...user, ...changes };
  }
}
