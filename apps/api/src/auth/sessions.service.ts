import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { MasterStore, SessionEntity, UserEntity, sqlTime } from '@cacpq/db';
import type { Logger } from 'pino';
import { In, LessThan, type Repository } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { LOGGER } from '../common/tokens';
import { newSecret, sha256 } from './passwords';
import type { Principal } from '../common/request-context';
import { sessionWithUser } from './hub-lookups';
import { Revocations } from './revocations';

type SessionEnd = 'signed-out' | 'session-expired' | 'account-disabled' | 'password-changed';
const SESSION_END: Record<SessionEnd, string> = {
  'signed-out': 'This session was signed out.',
  'session-expired': 'This session has expired; sign in again.',
  'account-disabled': 'This account has been disabled.',
  'password-changed': "This account's password was changed; sign in again.",
};

export interface ActiveSession {
  session: SessionEntity;
  user: UserEntity;
}

/** Dashboard sessions: the cookie holds a random secret, hub.db holds only its sha256. */
@Injectable()
export class SessionsService implements OnModuleInit {
  private readonly sessions: Repository<SessionEntity>;

  constructor(
    private readonly store: MasterStore,
    private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly revocations: Revocations,
  ) {
    this.sessions = store.hub.getRepository(SessionEntity);
  }

  async onModuleInit(): Promise<void> {
    await this.purgeExpired();
  }

  get ttlMs(): number {
    return this.config.sessionTtlHours * 3600_000;
  }

  async create(user: UserEntity, meta: { ip: string | null; userAgent: string | null }) {
    const secret = newSecret('');
    const now = new Date();
    const session: SessionEntity = {
      id: sha256(secret),
      userId: user.id,
      csrfToken: newSecret(''),
      createdAt: sqlTime(now),
      expiresAt: sqlTime(new Date(now.getTime() + this.ttlMs)),
      lastSeenAt: sqlTime(now),
      ip: meta.ip,
      userAgent: meta.userAgent?.slice(0, 300) ?? null,
    };
    await this.sessions.insert(session);
    return { secret, session };
  }

  /** The session and its user, or null when unknown, expired or the user is disabled. */
  async resolve(secret: string): Promise<ActiveSession | 'expired' | null> {
    const found = sessionWithUser(this.store.hubDb, sha256(secret));
    if (!found) return null;
    const { session, user } = found;
    const now = new Date();
    if (session.expiresAt <= sqlTime(now)) {
      await this.destroy(session.id, 'session-expired');
      return 'expired';
    }
    if (!user) return null;
    // Sliding expiry, written at most once a minute per session.
    if (now.getTime() - new Date(session.lastSeenAt.replace(' ', 'T') + 'Z').getTime() > 60_000) {
      session.lastSeenAt = sqlTime(now);
      session.expiresAt = sqlTime(new Date(now.getTime() + this.ttlMs));
      await this.sessions.update({ id: session.id }, { lastSeenAt: session.lastSeenAt, expiresAt: session.expiresAt });
    }
    return { session, user };
  }

  async destroy(id: string, reason: 'signed-out' | 'session-expired' = 'signed-out'): Promise<void> {
    await this.sessions.delete({ id });
    this.ended(reason, (p) => p.sessionId === id);
  }

  /** Every session of an account: disabled, or its password reset by an admin. */
  async destroyAllFor(userId: number, reason: 'account-disabled' | 'password-changed'): Promise<void> {
    await this.sessions.delete({ userId });
    this.ended(reason, (p) => p.userId === userId);
  }

  /** The account's other sessions, after its password changed. */
  async destroyOthers(userId: number, keepId: string | undefined): Promise<void> {
    const qb = this.sessions.createQueryBuilder().delete().where('user_id = :userId', { userId });
    if (keepId) qb.andWhere('id <> :keepId', { keepId });
    await qb.execute();
    this.ended('password-changed', (p) => p.userId === userId && p.sessionId !== keepId);
  }

  @Interval(3600_000)
  async purgeExpired(): Promise<void> {
    const expired = await this.sessions.find({ select: { id: true }, where: { expiresAt: LessThan(sqlTime()) } });
    if (expired.length === 0) return;
    const ids = new Set(expired.map((s) => s.id));
    await this.sessions.delete({ id: In([...ids]) });
    this.ended('session-expired', (p) => ids.has(p.sessionId!));
    this.logger.info({ removed: ids.size }, 'expired sessions removed');
  }

  /** Open socket connections of the ended sessions end with them. */
  private ended(reason: SessionEnd, matches: (p: Principal) => boolean): void {
    this.revocations.publish({ reason, message: SESSION_END[reason], matches: (p) => p.kind === 'session' && matches(p) });
  }
}
