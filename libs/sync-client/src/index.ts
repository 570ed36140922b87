// The workstation SDK (Node): a workstation's SQLite file kept in sync with a CACPQ server.
// The wire contract it speaks is `@cacpq/sync-protocol`.
export * from './sync-client';
export type { AdoptParams, AdoptPhase, AdoptReport, AdoptTableReport } from './adopt';
export * from './local-schema';
export * from './trust';
