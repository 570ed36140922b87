import type Database from 'better-sqlite3';
import { prepared } from '../statements';
import { NUMBER_USE_HOLDER } from './number-uses.repository';

/** A `generated_numbers` row (generated_numbers.db): a quote or project number issued or reserved. */
export interface IssuedNumberRow {
  type: 'quote' | 'project';
  number: string;
  year: number | null;
  sequence: number | null;
  created_at: string;
  created_by: string;
  client_id: string | null;
  status: 'issued' | 'reserved';
}

export interface NumberUseInsert {
  number: string;
  kind: string;
  clientId: string;
  user: string;
  table: string;
  id: string;
  usedAt: string;
  registeredAt: string;
}

/**
 * Quote and project numbers: the issued ones (generated_numbers.db), the high-water mark that
 * survives a restore of that file (hub.db), and the numbers workstations used offline (hub.db
 * `number_uses`). The numbers service picks; this stores.
 */
export interface NumbersRepository {
  /** What one request (by its id) already allocated: a retry gets the same numbers. */
  byRequest(user: string, requestId: string): IssuedNumberRow[];
  /** The highest sequence of a kind and year, in the file and by the high-water mark. */
  highest(kind: string, year: number): number;
  /** Whether a number is issued already (not counting those flagged as duplicates). */
  taken(number: string): boolean;
  /** Writes the high-water mark first (a crash after it only skips numbers), then the numbers in one transaction. */
  issue(
    kind: string,
    year: number,
    highWater: number,
    picked: { sequence: number; number: string }[],
    by: { at: string; user: string; clientId: string | null; status: 'issued' | 'reserved'; requestId: string | null },
  ): void;
  /** Registers offline uses (again is harmless): how many were new, and which numbers more than one record now uses. */
  registerUses(uses: NumberUseInsert[]): { registered: number; duplicates: string[] };
  list(kind: string | undefined, limit: number): IssuedNumberRow[];
}

export class SqliteNumbersRepository implements NumbersRepository {
  constructor(
    private readonly numbersDb: () => Database.Database,
    private readonly hubDb: () => Database.Database,
  ) {}

  byRequest(user: string, requestId: string): IssuedNumberRow[] {
    return prepared(
      this.numbersDb(),
      `SELECT type, number, year, sequence, created_at, created_by, client_id, status FROM generated_numbers
       WHERE created_by = ? AND request_id = ? ORDER BY id`,
    ).all(user, requestId) as IssuedNumberRow[];
  }

  highest(kind: string, year: number): number {
    const fileMax =
      (prepared(this.numbersDb(), 'SELECT MAX(sequence) FROM generated_numbers WHERE type = ? AND year = ?').pluck().get(kind, year) as
        number | null) ?? 0;
    const hwm =
      (prepared(this.hubDb(), 'SELECT sequence FROM number_high_water WHERE kind = ? AND year = ?').pluck().get(kind, year) as
        number | undefined) ?? 0;
    return Math.max(fileMax, hwm);
  }

  taken(number: string): boolean {
    return (
      prepared(this.numbersDb(), 'SELECT 1 FROM generated_numbers WHERE number = ? AND duplicate_of IS NULL').get(number) !== undefined
    );
  }

  issue(
    kind: string,
    year: number,
    highWater: number,
    picked: { sequence: number; number: string }[],
    by: { at: string; user: string; clientId: string | null; status: 'issued' | 'reserved'; requestId: string | null },
  ): void {
    prepared(
      this.hubDb(),
      `INSERT INTO number_high_water (kind, year, sequence, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(kind, year) DO UPDATE SET sequence = max(sequence, excluded.sequence), updated_at = excluded.updated_at`,
    ).run(kind, year, highWater, by.at);
    const db = this.numbersDb();
    const insert = prepared(
      db,
      `INSERT INTO generated_numbers (type, number, year, sequence, created_at, created_by, client_id, status, request_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    db.transaction(() => {
      for (const p of picked) insert.run(kind, p.number, year, p.sequence, by.at, by.user, by.clientId, by.status, by.requestId);
    })();
  }

  registerUses(uses: NumberUseInsert[]): { registered: number; duplicates: string[] } {
    const db = this.hubDb();
    const insert = prepared(
      db,
      `INSERT OR IGNORE INTO number_uses (number, kind, client_id, user, record_table, record_id, used_at, registered_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const holders = prepared(db, `SELECT COUNT(DISTINCT ${NUMBER_USE_HOLDER}) FROM number_uses WHERE number = ?`).pluck();
    let registered = 0;
    const duplicates = new Set<string>();
    db.transaction(() => {
      for (const u of uses) {
        registered += insert.run(u.number, u.kind, u.clientId, u.user, u.table, u.id, u.usedAt, u.registeredAt).changes;
        if ((holders.get(u.number) as number) > 1) duplicates.add(u.number);
      }
    })();
    return { registered, duplicates: [...duplicates] };
  }

  list(kind: string | undefined, limit: number): IssuedNumberRow[] {
    return prepared(
      this.numbersDb(),
      `SELECT type, number, year, sequence, created_at, created_by, client_id, status FROM generated_numbers
       ${kind ? 'WHERE type = ?' : ''} ORDER BY id DESC LIMIT ?`,
    ).all(...(kind ? [kind, limit] : [limit])) as IssuedNumberRow[];
  }
}
