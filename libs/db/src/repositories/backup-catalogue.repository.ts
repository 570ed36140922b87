import type Database from 'better-sqlite3';
import type { BackupFileView, BackupKind, BackupView } from '@cacpq/sync-protocol';
import { prepared } from '../statements';

/** A catalogued backup with what the disk scan compares (the set's files' names, sizes and times). */
export interface CataloguedBackup extends BackupView {
  fingerprint: string;
}

/** What a verification of a set writes to its catalogue entry. */
export interface BackupEntry {
  name: string;
  kind: BackupKind;
  createdAt: string;
  check: BackupView['check'];
  verifiedAt: string;
  problem: string | null;
  bytes: number;
  files: BackupFileView[];
  fingerprint: string;
  jobId: number | null;
}

/** The newest verified backup: what health and alerts judge the backup age by. */
export interface VerifiedBackup {
  name: string;
  createdAt: string;
  check: BackupView['check'];
}

/** hub.db's `backups`: the catalogue of the backup sets on disk. */
export interface BackupCatalogueRepository {
  /** Newest first (created_at, then id), optionally of one kind. */
  list(kind?: BackupKind): BackupView[];
  get(id: number): BackupView | null;
  /** Every entry, for a scan of the disk. */
  all(): CataloguedBackup[];
  /** The entries of one kind, for retention. */
  ofKind(kind: BackupKind): BackupView[];
  nameTaken(name: string): boolean;
  /** A backup this server took: listed as verified; returns its id. */
  add(entry: Omit<BackupEntry, 'problem'>): number;
  /** A set found on disk (or changed since): added, or its verification replaced; origin and job of a known entry stay. */
  upsertFound(entry: BackupEntry & { origin: BackupView['origin'] }, status: BackupView['status']): void;
  remove(id: number): void;
  /** The newest verified backup other than a pre-restore snapshot, or null. */
  lastVerified(): VerifiedBackup | null;
  /** When the newest verified backup of any kind (pre-restore snapshots too) was taken, or null. */
  newestVerifiedAt(): string | null;
}

interface BackupRow {
  id: number;
  name: string;
  kind: BackupKind;
  origin: 'server' | 'found';
  created_at: string;
  status: 'verified' | 'failed';
  check_kind: 'quick_check' | 'integrity_check';
  verified_at: string;
  problem: string | null;
  bytes: number;
  files: string;
  fingerprint: string;
  job_id: number | null;
}

export class SqliteBackupCatalogueRepository implements BackupCatalogueRepository {
  constructor(private readonly db: () => Database.Database) {}

  list(kind?: BackupKind): BackupView[] {
    const rows = prepared(this.db(), `SELECT * FROM backups ${kind ? 'WHERE kind = ?' : ''} ORDER BY created_at DESC, id DESC`).all(
      ...(kind ? [kind] : []),
    ) as BackupRow[];
    return rows.map(backupView);
  }

  get(id: number): BackupView | null {
    const row = prepared(this.db(), 'SELECT * FROM backups WHERE id = ?').get(id) as BackupRow | undefined;
    return row ? backupView(row) : null;
  }

  all(): CataloguedBackup[] {
    return (prepared(this.db(), 'SELECT * FROM backups').all() as BackupRow[]).map((r) => ({
      ...backupView(r),
      fingerprint: r.fingerprint,
    }));
  }

  ofKind(kind: BackupKind): BackupView[] {
    return (prepared(this.db(), 'SELECT * FROM backups WHERE kind = ?').all(kind) as BackupRow[]).map(backupView);
  }

  nameTaken(name: string): boolean {
    return !!prepared(this.db(), 'SELECT 1 FROM backups WHERE name = ?').get(name);
  }

  add(e: Omit<BackupEntry, 'problem'>): number {
    const info = prepared(
      this.db(),
      `INSERT INTO backups (name, kind, origin, created_at, status, check_kind, verified_at, problem, bytes, files, fingerprint, job_id)
       VALUES (?, ?, 'server', ?, 'verified', ?, ?, NULL, ?, ?, ?, ?)`,
    ).run(e.name, e.kind, e.createdAt, e.check, e.verifiedAt, e.bytes, JSON.stringify(e.files), e.fingerprint, e.jobId);
    return Number(info.lastInsertRowid);
  }

  upsertFound(e: BackupEntry & { origin: BackupView['origin'] }, status: BackupView['status']): void {
    prepared(
      this.db(),
      `INSERT INTO backups (name, kind, origin, created_at, status, check_kind, verified_at, problem, bytes, files, fingerprint, job_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(name) DO UPDATE SET status = excluded.status, check_kind = excluded.check_kind, verified_at = excluded.verified_at,
         problem = excluded.problem, bytes = excluded.bytes, files = excluded.files, fingerprint = excluded.fingerprint`,
    ).run(
      e.name,
      e.kind,
      e.origin,
      e.createdAt,
      status,
      e.check,
      e.verifiedAt,
      e.problem,
      e.bytes,
      JSON.stringify(e.files),
      e.fingerprint,
      e.jobId,
    );
  }

  remove(id: number): void {
    prepared(this.db(), 'DELETE FROM backups WHERE id = ?').run(id);
  }

  lastVerified(): VerifiedBackup | null {
    const b = prepared(
      this.db(),
      `SELECT name, created_at, check_kind FROM backups WHERE status = 'verified' AND kind <> 'pre-restore' ORDER BY created_at DESC LIMIT 1`,
    ).get() as { name: string; created_at: string; check_kind: BackupView['check'] } | undefined;
    return b ? { name: b.name, createdAt: b.created_at, check: b.check_kind } : null;
  }

  newestVerifiedAt(): string | null {
    return (prepared(this.db(), `SELECT max(created_at) AS at FROM backups WHERE status = 'verified'`).get() as { at: string | null }).at;
  }
}

function backupView(r: BackupRow): BackupView {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    origin: r.origin,
    createdAt: r.created_at,
    status: r.status,
    check: r.check_kind,
    verifiedAt: r.verified_at,
    problem: r.problem,
    bytes: r.bytes,
    files: JSON.parse(r.files) as BackupFileView[],
    jobId: r.job_id,
  };
}
