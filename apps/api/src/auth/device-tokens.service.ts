import { Injectable } from '@nestjs/common';
import { DeviceTokenEntity, MasterStore, UserEntity, sqlTime } from '@cacpq/db';
import type { CreatedToken, TokenView } from '@cacpq/sync-protocol';
import { randomUUID } from 'node:crypto';
import { IsNull, type Repository } from 'typeorm';
import { ApiException } from '../common/api-exception';
import { newSecret, sha256 } from './passwords';
import { tokenWithUser } from './hub-lookups';
import { Revocations } from './revocations';

export const TOKEN_PREFIX = 'cacpq_';

/** Per-device bearer tokens for workstations and scripts. Stored as sha256, shown once. */
@Injectable()
export class DeviceTokensService {
  private readonly tokens: Repository<DeviceTokenEntity>;
  private readonly users: Repository<UserEntity>;

  constructor(
    private readonly store: MasterStore,
    private readonly revocations: Revocations,
  ) {
    this.tokens = store.hub.getRepository(DeviceTokenEntity);
    this.users = store.hub.getRepository(UserEntity);
  }

  async issue(user: UserEntity, device: string, createdBy: string): Promise<CreatedToken> {
    const token = newSecret(TOKEN_PREFIX);
    const row: DeviceTokenEntity = {
      id: randomUUID(),
      userId: user.id,
      device,
      tokenHash: sha256(token),
      createdAt: sqlTime(),
      createdBy,
      lastUsedAt: null,
      revokedAt: null,
      revokedBy: null,
    };
    await this.tokens.insert(row);
    return { ...this.view(row, user.username), token };
  }

  async listFor(user: UserEntity): Promise<TokenView[]> {
    const rows = await this.tokens.find({ where: { userId: user.id }, order: { createdAt: 'DESC' } });
    return rows.map((r) => this.view(r, user.username));
  }

  async countActive(userId: number): Promise<number> {
    return this.tokens.countBy({ userId, revokedAt: IsNull() });
  }

  async revoke(id: string, by: string): Promise<TokenView> {
    const row = await this.tokens.findOneBy({ id });
    if (!row) throw new ApiException('NOT_FOUND', `There is no device token with id "${id}".`);
    if (!row.revokedAt) {
      row.revokedAt = sqlTime();
      row.revokedBy = by;
      await this.tokens.update({ id }, { revokedAt: row.revokedAt, revokedBy: by });
    }
    // Open socket connections made with this token end now, not at their next request.
    this.revocations.publish({
      reason: 'token-revoked',
      message: 'This device token has been revoked.',
      matches: (p) => p.kind === 'token' && p.tokenId === id,
    });
    const user = await this.users.findOneBy({ id: row.userId });
    return this.view(row, user?.username ?? '');
  }

  /** The token's row and user, or a reason it does not authenticate. */
  async resolve(token: string): Promise<{ token: DeviceTokenEntity; user: UserEntity } | 'revoked' | null> {
    const found = tokenWithUser(this.store.hubDb, sha256(token));
    if (!found) return null;
    const { token: row, user } = found;
    if (row.revokedAt) return 'revoked';
    if (!user) return null;
    const now = sqlTime();
    if (!row.lastUsedAt || row.lastUsedAt.slice(0, 16) !== now.slice(0, 16)) {
      await this.tokens.update({ id: row.id }, { lastUsedAt: now });
    }
    return { token: row, user };
  }

  private view(r: DeviceTokenEntity, username: string): TokenView {
    return {
      id: r.id,
      username,
      device: r.device,
      createdAt: r.createdAt,
      createdBy: r.createdBy,
      lastUsedAt: r.lastUsedAt,
      revokedAt: r.revokedAt,
    };
  }
}
