import { DeviceTokenEntity, MasterStore, SessionEntity, UserEntity, sqlTime } from '@cacpq/db';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sessionWithUser, tokenWithUser } from './hub-lookups';

describe('hub lookups (prepared statements for the token and session of every request)', () => {
  let dir: string;
  let store: MasterStore;
  let user: UserEntity;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cacpq-lookups-'));
    store = await MasterStore.open({ dataDir: dir, busyTimeoutMs: 1000 });
    const users = store.hub.getRepository(UserEntity);
    const now = sqlTime();
    for (const [username, disabled] of [
      ['olga', true],
      ['pavel', false],
    ] as const) {
      await users.insert({ username, role: 'manager', passwordHash: null, disabled, createdAt: now, updatedAt: now, lastLoginAt: null });
    }
    user = (await users.findOneBy({ username: 'olga' }))!;
    await store.hub.getRepository(DeviceTokenEntity).insert([
      {
        id: 'tok-1',
        userId: user.id,
        device: 'olga-pc',
        tokenHash: 'hash-1',
        createdAt: now,
        createdBy: 'admin',
        lastUsedAt: '2026-11-24 10:00:00.000',
        revokedAt: '2026-11-25 08:00:00.000',
        revokedBy: 'admin',
      },
    ]);
    await store.hub.getRepository(SessionEntity).insert({
      id: 'sess-1',
      userId: user.id,
      csrfToken: 'csrf',
      createdAt: now,
      expiresAt: '2099-01-01 00:00:00.000',
      lastSeenAt: now,
      ip: '127.0.0.1',
      userAgent: null,
    });
  });

  afterAll(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads a token and its account exactly as TypeORM maps them (a boolean `disabled`, nulls kept)', async () => {
    const found = tokenWithUser(store.hubDb, 'hash-1');
    expect(found).toEqual({ token: await store.hub.getRepository(DeviceTokenEntity).findOneBy({ id: 'tok-1' }), user });
    expect(found!.user!.disabled).toBe(true);
    expect(found!.token.revokedAt).toBe('2026-11-25 08:00:00.000');
  });

  it('reads a session and its account exactly as TypeORM maps them', async () => {
    expect(sessionWithUser(store.hubDb, 'sess-1')).toEqual({
      session: await store.hub.getRepository(SessionEntity).findOneBy({ id: 'sess-1' }),
      user,
    });
  });

  it('finds nothing for an unknown hash or id, and sees a change made through TypeORM at once', async () => {
    expect(tokenWithUser(store.hubDb, 'hash-unknown')).toBeUndefined();
    expect(sessionWithUser(store.hubDb, 'sess-unknown')).toBeUndefined();
    await store.hub.getRepository(UserEntity).update({ id: user.id }, { disabled: false });
    expect(tokenWithUser(store.hubDb, 'hash-1')!.user!.disabled).toBe(false);
    await store.hub.getRepository(SessionEntity).delete({ id: 'sess-1' });
    expect(sessionWithUser(store.hubDb, 'sess-1')).toBeUndefined();
  });
});
