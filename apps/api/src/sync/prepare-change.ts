import { sqlTime } from '@cacpq/db';
import type { PushChange } from '@cacpq/sync-protocol';
import { clientTimeOnServer } from './merge';
import type { ParsedPush } from './push-validation';
import { parseClientTime, RuleError, tableSpec, toStored, toStoredAsIs, type StoredValue, type TableSpec } from './row-values';

/** A change checked against the column rules, its values as SQLite stores them: what the writers take. */
export interface PreparedChange {
  change: PushChange;
  spec: TableSpec;
  where: string;
  /** Every value sent, as SQLite stores it: the changed columns checked by the rules, the others as they are. */
  values: Record<string, StoredValue>;
  changed: string[];
  /** Each changed column's value before the workstation's edit, when it sent them (exact). */
  base: Record<string, StoredValue> | null;
  time: string;
  /** Columns the rules would refuse, left unchecked because the change does not touch them. */
  unchecked: RuleError[];
  /** Changed values stored in another form than sent (a datetime in SQLite's): the answer carries them. */
  normalized: Record<string, StoredValue> | null;
}

/** A change refused for what it is, found while preparing or applying a batch. */
export interface Refusal {
  index: number;
  change: unknown;
  error: RuleError;
  time?: string;
}

/**
 * Checks every change of a batch before anything is written; each refused one is listed, none stops
 * the others' checks. Workstation times are moved by `skewMs` and clamped to `now`.
 */
export function prepareChanges(
  parsed: ParsedPush,
  now: Date,
  skewMs: number,
): { prepared: [number, PreparedChange][]; refused: Refusal[] } {
  const seen = new Set<string>();
  // Workstation times repeat within a batch (one transaction, one millisecond): parsed once each.
  const times = new Map<string, string>();
  const prepared: [number, PreparedChange][] = [];
  const refused: Refusal[] = [];
  parsed.request.changes.forEach((change, i) => {
    const shape = parsed.invalid.get(i);
    if (shape !== undefined) {
      refused.push({ index: i, change, error: new RuleError('VALIDATION_FAILED', shape, null) });
      return;
    }
    try {
      const key = `${change.table}\u0000${change.id}`;
      if (seen.has(key))
        throw new RuleError(
          'DUPLICATE_ROW',
          `changes[${i}]: ${change.table} ${change.id} appears twice in this batch; send one change per row.`,
          null,
        );
      seen.add(key);
      let time: string | undefined;
      if (change.restore === true) {
        // A give-back's time is the master's own stamp from before the restore: not the workstation's clock.
        const t = parseClientTime(change.updatedAt);
        if (!t)
          throw new RuleError('VALIDATION_FAILED', `changes[${i}]: updatedAt must be a date-time such as 2026-11-24T09:30:00Z.`, null);
        time = sqlTime(new Date(Math.min(t.getTime(), now.getTime())));
      } else {
        time = times.get(change.updatedAt);
        if (time === undefined) {
          const t = parseClientTime(change.updatedAt);
          if (!t)
            throw new RuleError('VALIDATION_FAILED', `changes[${i}]: updatedAt must be a date-time such as 2026-11-24T09:30:00Z.`, null);
          // Corrected by the clock offset measured on this request, then clamped to the server's now:
          // a future time can never beat a later real edit.
          time = sqlTime(clientTimeOnServer(t, skewMs, now));
          times.set(change.updatedAt, time);
        }
      }
      prepared.push([i, prepareChange(change, `changes[${i}]`, time)]);
    } catch (err) {
      if (!(err instanceof RuleError)) throw err;
      refused.push({ index: i, change, error: err });
    }
  });
  return { prepared, refused };
}

/**
 * One change, checked: the changed columns against the column rules (with `override`, their type
 * only), the other values and the base as they are. A give-back's values are the master's own from
 * before a restore: taken as they are.
 */
export function prepareChange(change: PushChange, where: string, time: string, override: readonly string[] = []): PreparedChange {
  const spec = tableSpec(change.table, where);
  const values: Record<string, StoredValue> = {};
  const unchecked: RuleError[] = [];
  let normalized: Record<string, StoredValue> | null = null;
  if (change.op === 'upsert') {
    if (!change.values) throw new RuleError('VALIDATION_FAILED', `${where}: an upsert needs values.`, null);
    const entries = Object.entries(change.values);
    // An insert (or a change that names no subset) changes every value: no lookups per column. A
    // `changed` naming something not in values is refused below either way.
    const changedSet = change.changed === undefined || change.changed.length >= entries.length ? null : new Set(change.changed);
    for (const [column, value] of entries) {
      // A column an admin excluded: the workstation's value stays on the workstation.
      if (spec.excluded.size > 0 && spec.excluded.has(column)) continue;
      if (change.restore === true) {
        values[column] = toStoredAsIs(spec, column, value, where);
      } else if (changedSet === null || changedSet.has(column)) {
        const stored = toStored(spec, column, value, where, override.length > 0 && override.includes(column));
        if (stored !== value && typeof value !== 'boolean' && typeof stored !== 'bigint') (normalized ??= {})[column] = stored;
        values[column] = stored;
      } else {
        // Not touched by this edit: an old value the rules now refuse must not block it.
        try {
          values[column] = toStored(spec, column, value, where);
        } catch (err) {
          if (!(err instanceof RuleError) || err.code !== 'VALIDATION_FAILED') throw err;
          unchecked.push(err);
          values[column] = toStoredAsIs(spec, column, value, where);
        }
      }
    }
  } else if (change.values && Object.keys(change.values).length > 0) {
    throw new RuleError('VALIDATION_FAILED', `${where}: a delete carries no values.`, null);
  }
  let changed = change.op === 'upsert' ? (change.changed ?? Object.keys(values)) : [];
  if (spec.excluded.size > 0) changed = changed.filter((c) => !spec.excluded.has(c));
  for (const c of changed) {
    if (!Object.hasOwn(values, c)) throw new RuleError('VALIDATION_FAILED', `${where}: changed names "${c}", which is not in values.`, c);
  }
  let base: Record<string, StoredValue> | null = null;
  if (change.base) {
    base = {};
    for (const [column, value] of Object.entries(change.base)) {
      if (!spec.excluded.has(column)) base[column] = toStoredAsIs(spec, column, value, `${where}.base`);
    }
  }
  return { change, spec, where, values, changed, base, time, unchecked, normalized };
}

/** SQLite's own refusals of a row (a constraint of a legacy table, a value too big): the change's fault, not the server's. */
export function sqliteRefusal(err: unknown, where: string): RuleError | null {
  const code = (err as { code?: string }).code;
  if (typeof code !== 'string') return null;
  if (code.startsWith('SQLITE_CONSTRAINT') || code === 'SQLITE_MISMATCH' || code === 'SQLITE_TOOBIG') {
    return new RuleError('VALIDATION_FAILED', `${where}: the master refused the row (${(err as Error).message}).`, null);
  }
  return null;
}
