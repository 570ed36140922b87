import Database from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { ROOT, sqlite3 } from './harness';

const CLI = path.join(ROOT, 'tools', 'bin', 'cacpq.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * A workstation clock that is off: hours ahead as a number (3 = three hours ahead), or a faketime
 * offset such as '-2d', '+3h' or '-60s'. 0 is the real clock.
 */
export type ClockOffset = number | string;

function faketimeOffset(clock: ClockOffset): string | null {
  if (clock === 0 || clock === '') return null;
  return typeof clock === 'number' ? `${clock >= 0 ? '+' : ''}${clock}h` : clock;
}

/** Runs `cacpq` as its own process (`stdin` its standard input); with a clock offset, under faketime (node and SQLite see the shifted clock). */
export function cacpq(args: string[], env: Record<string, string> = {}, clock: ClockOffset = 0, stdin?: string): CliResult {
  const offset = faketimeOffset(clock);
  const cmd = offset ? 'faketime' : process.execPath;
  const argv = offset ? ['-f', offset, process.execPath, CLI, ...args] : [CLI, ...args];
  const r = spawnSync(cmd, argv, { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000, input: stdin });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Like `cacpq`, without blocking this process (for tests that serve something in-process). */
export function cacpqAsync(args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** A workstation: its own SQLite file, synced by `cacpq client` processes, written by the sqlite3 shell. */
export class Workstation {
  constructor(
    readonly name: string,
    readonly file: string,
    readonly clock: ClockOffset = 0,
  ) {}

  static init(name: string, dir: string, server: string, token: string, clock: ClockOffset = 0): Workstation {
    const file = path.join(dir, `${name}.db`);
    const r = cacpq(['client', 'init', '--server', server, '--token', token, '--db', file, '--client-id', name], {}, clock);
    if (r.status !== 0) throw new Error(`init ${name} failed: ${r.stderr}${r.stdout}`);
    return new Workstation(name, file, clock);
  }

  static async initAsync(name: string, dir: string, server: string, token: string): Promise<Workstation> {
    const file = path.join(dir, `${name}.db`);
    const r = await cacpqAsync(['client', 'init', '--server', server, '--token', token, '--db', file, '--client-id', name]);
    if (r.status !== 0) throw new Error(`init ${name} failed: ${r.stderr}${r.stdout}`);
    return new Workstation(name, file);
  }

  async syncAsync(): Promise<string> {
    const r = await cacpqAsync(['client', 'sync', '--db', this.file]);
    if (r.status !== 0) throw new Error(`sync ${this.name} failed (${r.status}): ${r.stderr}${r.stdout}`);
    return r.stdout.trim();
  }

  /** A write made by "the desktop app": here the sqlite3 shell, with this workstation's clock. */
  sql(statements: string): string {
    const offset = faketimeOffset(this.clock);
    const r = offset
      ? spawnSync('faketime', ['-f', offset, 'sqlite3', '-bail', this.file], { input: statements, encoding: 'utf8' })
      : sqlite3(this.file, statements);
    const code = 'status' in r ? r.status : r.code;
    if (code !== 0) throw new Error(`sqlite3 on ${this.name} failed: ${r.stderr}`);
    return r.stdout.trim();
  }

  sync(): string {
    const r = cacpq(['client', 'sync', '--db', this.file], {}, this.clock);
    if (r.status !== 0) throw new Error(`sync ${this.name} failed (${r.status}): ${r.stderr}${r.stdout}`);
    return r.stdout.trim();
  }

  /** The synced tables as the workstation holds them, in a stable order (read between syncs). */
  dump(tables: string[]): Record<string, Record<string, unknown>[]> {
    return readTables(this.file, tables);
  }
}

export function readTables(file: string, tables: string[]): Record<string, Record<string, unknown>[]> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return Object.fromEntries(tables.map((t) => [t, db.prepare(`SELECT * FROM "${t}" ORDER BY id`).all() as Record<string, unknown>[]]));
  } finally {
    db.close();
  }
}
