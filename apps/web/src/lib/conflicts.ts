import type { ConflictSummaryRow, ConflictView, ResolveConflictRequest, WireValue } from '@cacpq/sync-protocol';

export type { ConflictSummaryRow, ConflictView, ResolveConflictRequest, WireValue };

export const CONFLICTS_PATH = '/api/v1/conflicts?status=open&limit=100';
export const SUMMARY_PATH = '/api/v1/monitoring/conflict-summary?days=7';
/** The list shows at most this many open conflicts (the newest). */
export const LIST_LIMIT = 100;

/** Columns the server keeps itself: never part of a resolution. */
export const SYNC_COLUMNS: ReadonlySet<string> = new Set(['id', 'updated_at', 'updated_by', 'synced_at', 'server_seq', 'deleted']);

/** One of the two versions of a conflict: the master's (before the workstation's sync) or the workstation's. */
export type Side = 'server' | 'client';

export interface FieldDiff {
  name: string;
  server: WireValue | undefined;
  client: WireValue | undefined;
  /** The two versions hold different values. */
  differs: boolean;
  /** Both sides changed this column since the workstation's base version: the conflict proper. */
  conflicting: boolean;
}

/** Data columns of both versions: the conflicting ones first, then the other differences, then the rest (alphabetical within each). */
export function fieldDiffs(c: ConflictView): FieldDiff[] {
  const names = new Set([...Object.keys(c.serverVersion ?? {}), ...Object.keys(c.clientVersion ?? {})]);
  const conflicting = new Set(c.columns);
  const rows = [...names]
    .filter((n) => !SYNC_COLUMNS.has(n))
    .map((name) => {
      const server = c.serverVersion ? (c.serverVersion[name] ?? null) : undefined;
      const client = c.clientVersion ? (c.clientVersion[name] ?? null) : undefined;
      return { name, server, client, differs: server !== client, conflicting: conflicting.has(name) };
    });
  const rank = (f: FieldDiff) => (f.conflicting ? 0 : f.differs ? 1 : 2);
  return rows.sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}

/** The side whose values the master kept for the conflicting columns. */
export function keptSide(c: ConflictView): Side {
  return c.winner;
}

export function otherSide(side: Side): Side {
  return side === 'server' ? 'client' : 'server';
}

/** Choosing field by field makes sense when both sides are rows (not a delete). */
export function canChooseFields(c: ConflictView): boolean {
  return c.kind === 'update' && c.serverVersion !== null && c.clientVersion !== null && c.columns.length > 0;
}

/** The server refuses to "take" a delete that lost: that is done through a workstation. */
export function canKeepLoser(c: ConflictView): boolean {
  return !(c.kind === 'delete-vs-update' && c.winner === 'server');
}

/** How an admin resolves: keep what the master holds, take the other version, or pick per conflicting field. */
export type ResolutionMode = 'winner' | 'loser' | 'fields';

/** The body of POST /conflicts/:id/resolve; field by field sends the chosen value of each conflicting column. */
export function resolutionBody(c: ConflictView, mode: ResolutionMode, choices: Record<string, Side>): ResolveConflictRequest {
  if (mode === 'winner') return { keep: 'winner' };
  if (mode === 'loser') return { keep: 'loser' };
  const values: Record<string, WireValue> = {};
  for (const col of c.columns) {
    const side = choices[col] ?? keptSide(c);
    const version = side === 'server' ? c.serverVersion : c.clientVersion;
    values[col] = version?.[col] ?? null;
  }
  return { keep: 'merged', values };
}

/** A row's name for people: its number, SKU or name when it has one, else its id. */
export function rowLabel(c: ConflictView): string {
  const v = c.clientVersion ?? c.serverVersion ?? {};
  for (const key of ['quoteNumber', 'projectNumber', 'sku', 'name', 'title']) {
    const value = v[key];
    if (typeof value === 'string' && value.trim()) return value;
  }
  return c.rowId;
}

export function kindLabel(c: ConflictView): string {
  if (c.kind === 'delete-vs-update') return 'deleted on a workstation, edited on the master';
  if (c.kind === 'update-vs-delete') return 'edited on a workstation, deleted on the master';
  return 'edited on both';
}

/** A stored value as text: "—" for empty, JSON text as it is. */
export function formatValue(v: WireValue | undefined): string {
  if (v === undefined) return '(row deleted)';
  if (v === null || v === '') return '—';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return String(v);
}

/** Merges live additions into the loaded list, minus resolved ones; newest first, de-duplicated. */
export function mergeConflicts(loaded: ConflictView[] | undefined, added: ConflictView[], removed: ReadonlySet<number>): ConflictView[] {
  const byId = new Map<number, ConflictView>();
  for (const c of [...(loaded ?? []), ...added]) if (!removed.has(c.id) && c.resolvedAt === null) byId.set(c.id, c);
  return [...byId.values()].sort((a, b) => b.id - a.id);
}

export interface SummaryPoint {
  date: string;
  /** Conflicts per 100 syncs that day; null without syncs. */
  conflictRatePct: number | null;
  failedSyncs: number;
  totalSyncs: number;
  totalConflicts: number;
}

/** The guide's 7-day summary, oldest day first, with the conflict rate in %. */
export function summaryPoints(rows: ConflictSummaryRow[]): SummaryPoint[] {
  return [...rows]
    .sort((a, b) => a.date.localeCompare(b.date))
    .map((r) => ({
      date: r.date,
      conflictRatePct: r.totalSyncs > 0 ? Math.round((r.totalConflicts / r.totalSyncs) * 1000) / 10 : null,
      failedSyncs: r.failedSyncs,
      totalSyncs: r.totalSyncs,
      totalConflicts: r.totalConflicts,
    }));
}

/** "Mon 24 Nov" for a "2025-11-24" day. */
export function dayLabel(date: string): string {
  const d = new Date(`${date}T12:00:00`);
  if (Number.isNaN(d.getTime())) return date;
  return d.toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', month: 'short' });
}
