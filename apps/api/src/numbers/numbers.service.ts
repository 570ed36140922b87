import { MasterStore, SqliteNumbersRepository, sqlTime, type IssuedNumberRow, type NumbersRepository } from '@cacpq/db';
import type { IssuedNumber, NumberKind, NumbersQuery, RegisterNumbersRequest, RegisterNumbersResponse } from '@cacpq/sync-protocol';
import { Injectable } from '@nestjs/common';
import { ApiException } from '../common/api-exception';
import { SettingsService } from '../settings/settings.service';
import { parseNumberFormat, type NumberFormat } from './number-format';

/**
 * Who uses a registered number: the record when the workstation named it (two copies of one file
 * hold the same record, which is one use), else the workstation.
 */

type NumberRow = IssuedNumberRow;

/**
 * Quote and project numbers, allocated by the server only. Allocation runs synchronously on the
 * one connection (no two can interleave); the high-water mark is written to hub.db before the
 * numbers file, so even a restore of generated_numbers.db to an older copy never issues a number
 * twice. A unique index on the number is the last line of defence.
 */
@Injectable()
export class NumbersService {
  private readonly repo: NumbersRepository;

  constructor(
    store: MasterStore,
    private readonly settings: SettingsService,
  ) {
    this.repo = new SqliteNumbersRepository(
      () => store.numbersDb,
      () => store.hubDb,
    );
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
      const prior = this.repo.byRequest(who, requestId) as NumberRow[];
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
    const picked: { sequence: number; number: string }[] = [];
    let sequence = this.repo.highest(kind, year);
    while (picked.length < count) {
      sequence++;
      const number = format.render(year, sequence);
      if (!this.repo.taken(number)) picked.push({ sequence, number });
    }
    const at = sqlTime(now);
    // First the high-water mark (a crash after it only skips numbers), then the numbers.
    this.repo.issue(kind, year, sequence, picked, { at, user: who, clientId, status, requestId });
    return picked.map((p) => ({ number: p.number, kind, year, sequence: p.sequence, issuedBy: who, issuedAt: at, clientId, status }));
  }

  /**
   * Numbers a workstation took offline from its reserved block, registered at its next sync with the
   * record that uses each (hub.db `number_uses`). Registering again is harmless. A number that two
   * records use (two copies of one workstation file spent the same block) is answered in
   * `duplicates` and flagged by the duplicate-number alert.
   */
  registerUses(user: string, body: RegisterNumbersRequest, now = new Date()): RegisterNumbersResponse {
    const at = sqlTime(now);
    return this.repo.registerUses(
      body.uses.map((u) => ({
        number: u.number,
        kind: u.kind,
        clientId: body.clientId,
        user,
        table: u.table ?? '',
        id: u.id ?? '',
        usedAt: u.usedAt,
        registeredAt: at,
      })),
    );
  }

  list(q: NumbersQuery): IssuedNumber[] {
    const rows = this.repo.list(q.kind, q.limit) as NumberRow[];
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
