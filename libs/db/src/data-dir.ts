import * as path from 'node:path';

/** Where everything lives under `DATA_DIR`; mirrors the NAS share of the guide. */
export interface DataDirLayout {
  root: string;
  databaseDir: string;
  serverDb: string;
  numbersDb: string;
  hubDir: string;
  hubDb: string;
  backupsDir: string;
  dailyBackupsDir: string;
  weeklyBackupsDir: string;
  manualBackupsDir: string;
  preRestoreDir: string;
  /** Restore candidates and extracted archives while a job works on them. */
  workDir: string;
  preAdoptionDir: string;
  archivesDir: string;
  lockFile: string;
  ownerFile: string;
  localCliTokenFile: string;
}

export function dataDirLayout(dataDir: string): DataDirLayout {
  const root = path.resolve(dataDir);
  const databaseDir = path.join(root, 'database');
  const hubDir = path.join(root, 'hub');
  const backupsDir = path.join(root, 'backups');
  return {
    root,
    databaseDir,
    serverDb: path.join(databaseDir, 'server.db'),
    numbersDb: path.join(databaseDir, 'generated_numbers.db'),
    hubDir,
    hubDb: path.join(hubDir, 'hub.db'),
    backupsDir,
    dailyBackupsDir: path.join(backupsDir, 'daily'),
    weeklyBackupsDir: path.join(backupsDir, 'weekly'),
    manualBackupsDir: path.join(backupsDir, 'manual'),
    preRestoreDir: path.join(backupsDir, 'pre-restore'),
    workDir: path.join(backupsDir, '.work'),
    preAdoptionDir: path.join(backupsDir, 'pre-adoption'),
    archivesDir: path.join(root, 'archives'),
    lockFile: path.join(root, 'cacpq.lock'),
    ownerFile: path.join(root, 'cacpq.lock.json'),
    localCliTokenFile: path.join(hubDir, 'local-cli.token'),
  };
}
