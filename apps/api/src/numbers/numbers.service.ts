import { Injectable } from '@nestjs/common';
import { MasterStore, sqlTime } from '@cacpq/db';
import type { IssuedNumber, NumberKind, NumbersQuery, RegisterNumbersRequest, RegisterNumbersResponse } from '@cacpq/sync-protocol';
import type Database from 'better-sqlite3';
import { ApiException } from '../common/api-exception';
import { SettingsService } from '../settings/settings.service';
import { parseNumberFormat, type NumberFormat } from './number-format';

/**
 * Who uses a registered number: the record when the workstation named it (two copies of one file
 * hold the same record, which is one use), else the workstation.
 */
export const NUMBER_USER = `CASE WHEN record_id <> '' THEN 'record' || char(0) || record_table || char(0) || record_id ELSE 'client' || char(0) || client_id END`;

interface NumberRow {
  type: NumberKind;
  number: string;
  year: number | null;
  sequence: number | null;
  created_at: string;
  created_by: string;
  client_id: string | null;
  status: 'issued' | 'reserved';
}

/**
 * Quote and project numbers, allocated by the server only. Allocation runs synchronously on the
 * one connection (no two can interleave); the high-water mark is written to hub.db before the
 * numbers file, so even a restore of generated_numbers.db to an older copy never issues a number
 * twice. A unique index on the number is the last line of defence.
 */
@Injectable()
export class NumbersService {
  constructor(
    private readonly store: MasterStore,
    private readonly settings: SettingsService,
  ) {}

  private get numbers(): Database.Database {
    return this.store.numbersDb;
  }

  private get hub(): Database.Database {
    return this.store.hubDb;
  }

  format(kind: NumberKind): NumberFormat {
    const parsed = parseNumberFormat(this.settings.get(kind === 'quote' ? 'numbers.format.quote' : 'numbers.format.project'));
    if (typeof parsed === 'string') throw new Error(`stored ${kind} number format is invalid: ${parsed}`);
    return parsed;
  }

  async setFormat(kind: NumberKind, source: string, by: string): Promise<string> {
    const parsed = parseNumberFormat(source);
    if (typeof parsed === 'string') throw new ApiException('VALIDATION_FAILED', `Invalid request body: format ${parsed}.`);
    await this.settings.set(kind === 'quote' ? 'numbers.format.quote' : 'numbers.format.project', source, by);
    return source;
  }

  allocate(
    kind: NumberKind,
    count: number,
    who: string,
    clientId: string | null,
    status: 'issued' | 'reserved',
    now = new Date(),
    requestId: string | null = null,
  ): IssuedNumber[] {
    if (requestId !== null) {
      // A retry whose first answer was lost: the numbers that attempt issued, not new ones.
      const prior = this.numbers
        .prepare(
          `SELECT type, number, year, sequence, created_at, created_by, client_id, status FROM generated_numbers
           WHERE created_by = ? AND request_id = ? ORDER BY id`,
        )
        .all(who, requestId) as NumberRow[];
      if (prior.length > 0) {
        if (prior.length !== count || prior.some((r) => r.type !== kind || r.status !== status)) {
          throw new ApiException(
            'REQUEST_ID_REUSED',
            `Request ${requestId} already allocated other numbers (${prior.length} ${prior[0].type}, ${prior[0].status}); use a new request id.`,
          );
        }
        return prior.map(issued);
      }
    }
    const format = this.format(kind);
    const year = format.yearly ? now.getUTCFullYear() : 0;
    const fileMax =
      (
        this.numbers.prepare('SELECT MAX(sequence) AS m FROM generated_numbers WHERE type = ? AND year = ?').get(kind, year) as {
          m: number | null;
        }
      ).m ?? 0;
    const hwm =
      (
        this.hub.prepare('SELECT sequence FROM number_high_water WHERE kind = ? AND year = ?').get(kind, year) as
          { sequence: number } | undefined
      )?.sequence ?? 0;
    const exists = this.numbers.prepare('SELECT 1 FROM generated_numbers WHERE number = ? AND duplicate_of IS NULL');
    const picked: { sequence: number; number: string }[] = [];
    let sequence = Math.max(fileMax, hwm);
    while (picked.length < count) {
      sequence++;
      const number = format.render(year, sequence);
      if (!exists.get(number)) picked.push({ sequence, number });
    }
    const at = sqlTime(now);
    // First the high-water mark (a crash after it only skips numbers), then the numbers.
    this.hub
      .prepare(
        `INSERT INTO number_high_water (kind, year, sequence, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(kind, year) DO UPDATE SET sequence = max(sequence, excluded.sequence), updated_at = excluded.updated_at`,
      )
      .run(kind, year, sequence, at);
    const insert = this.numbers.prepare(
      `INSERT INTO generated_numbers (type, number, year, sequence, created_at, created_by, client_id, status, request_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.numbers.transaction(() => {
      for (const p of picked) insert.run(kind, p.number, year, p.sequence, at, who, clientId, status, requestId);
    })();
    return picked.map((p) => ({ number: p.number, kind, year, sequence: p.sequence, issuedBy: who, issuedAt: at, clientId, status }));
  }

  /**
   * Numbers a workstation took offline from its reserved block, registered at its next sync with the
   * record that uses each (hub.db `number_uses`). Registering again is harmless. A number that two
   * records use (two copies of one workstation file spent the same block) is answered in
   * `duplicates` and flagged by the duplicate-number alert.
   */
  registerUses(user: string, body: RegisterNumbersRequest, now = new Date()): RegisterNumbersResponse {
    const insert = this.hub.prepare(
      `INSERT OR IGNORE INTO number_uses (number, kind, client_id, user, record_table, record_id, used_at, registered_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const users = this.hub.prepare(`SELECT COUNT(DISTINCT ${NUMBER_USER}) FROM number_uses WHERE number = ?`);
    const at = sqlTime(now);
    let registered = 0;
    const duplicates = new Set<string>();
    this.hub.transaction(() => {
      for (const u of body.uses) {
        registered += insert.run(u.number, u.kind, body.clientId, user, u.table ?? '', u.id ?? '', u.usedAt, at).changes;
        if ((users.pluck().get(u.number) as number) > 1) duplicates.add(u.number);
      }
    })();
    return { registered, duplicates: [...duplicates] };
  }

  list(q: NumbersQuery): IssuedNumber[] {
    const rows = this.numbers
      .prepare(
        `SELECT type, number, year, sequence, created_at, created_by, client_id, status FROM generated_numbers
         ${q.kind ? 'WHERE type = ?' : ''} ORDER BY id DESC LIMIT ?`,
      )
      .all(...(q.kind ? [q.kind, q.limit] : [q.limit])) as NumberRow[];
    return rows.map(issued);
  }
}

function issued(r: NumberRow): IssuedNumber {
  return {
    number: r.number,
    kind: r.type,
    year: r.year ?? 0,
    sequence: r.sequence ?? 0,
    issuedBy: r.created_by ?? 'legacy',
    issuedAt: r.created_at ?? '',
    clientId: r.client_id,
    status: r.status,
  };
}
