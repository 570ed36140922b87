import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TableInfo } from '@cacpq/sync-protocol';
import { installLocalSchema } from './local-schema';

// For the SDK's specs against a scripted server: a workstation file already initialised, and JSON answers.

/** A synced table of text columns (the sync columns included) for the specs. */
export function itemsTable(dataColumns: string[]): TableInfo {
  const columns = ['id', ...dataColumns, 'updated_at', 'updated_by', 'synced_at', 'server_seq', 'deleted'];
  const types: Record<string, string> = { server_seq: 'INTEGER', deleted: 'INTEGER' };
  return {
    name: 'items',
    label: 'Items',
    ddl: `CREATE TABLE "items" (${columns.map((c) => `${c} ${c === 'id' ? 'TEXT PRIMARY KEY' : (types[c] ?? 'TEXT')}`).join(', ')})`,
    indexes: [],
    columns: columns.map((name) => ({ name, type: 'text' as const, nullable: true })),
  };
}

/** A workstation file as `init` leaves it (state, schema, identity), in a new temporary folder. */
export function scriptedWorkstation(table: TableInfo, clientId: string): { dir: string; file: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cacpq-sdk-${clientId}-`));
  const file = path.join(dir, 'ws.db');
  const db = new Database(file);
  installLocalSchema(db, [table]);
  const set = db.prepare('INSERT INTO _sync_state (key, value) VALUES (?, ?)');
  for (const [k, v] of Object.entries({
    server: 'http://server.test',
    token: 't',
    client_id: clientId,
    generation: 'g1',
    cursor: '0',
    tables: JSON.stringify([table]),
    file_id: 'f1',
  }))
    set.run(k, v);
  db.close();
  return { dir, file };
}

/** A JSON answer as the server sends it. */
export const json = (status: number, body: unknown): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
