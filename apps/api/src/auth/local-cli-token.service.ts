import { Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { MasterStore, writeFileAtomic } from '@cacpq/db';
import * as fs from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import { newSecret, sha256 } from './passwords';

/**
 * A fresh admin credential for the `cacpq` command on the server's own host, written at each
 * start to `DATA_DIR/hub/local-cli.token` (mode 0600: whoever can read it can read the
 * databases anyway). Only its hash is kept, in memory; it dies with the process. Its actions are
 * audited as `local-cli`.
 */
@Injectable()
export class LocalCliTokenService implements OnModuleInit, OnApplicationShutdown {
  private hash = '';

  constructor(private readonly store: MasterStore) {}

  onModuleInit(): void {
    const token = newSecret('cacpq_local_');
    this.hash = sha256(token);
    writeFileAtomic(this.store.layout.localCliTokenFile, token + '\n', 0o600);
    fs.chmodSync(this.store.layout.localCliTokenFile, 0o600);
  }

  onApplicationShutdown(): void {
    fs.rmSync(this.store.layout.localCliTokenFile, { force: true });
  }

  matches(token: string): boolean {
    if (!this.hash || !token.startsWith('cacpq_local_')) return false;
    const a = Buffer.from(sha256(token));
    const b = Buffer.from(this.hash);
    return a.length === b.length && timingSafeEqual(a, b);
  }
}
