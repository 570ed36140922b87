import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SyncClient } from '@cacpq/sync-client';
import type { SyncActivityPage } from '@cacpq/sync-protocol';
import { ROOT, adminSession, startServer, tempDir, type ServerProcess } from './harness';

// The workstation SDK as the desktop app gets it: the two packages packed with `npm pack` from
// their builds (dist/libs/sync-protocol, dist/libs/sync-client; `npm run build` makes them),
// installed into an empty project of its own, and used from plain JavaScript against a real server.
//
// How the install stays fast and needs nothing but npm: `npm install` of the two tarballs plus
// better-sqlite3 at exactly the repository's version, `--prefer-offline` (what `npm ci` of the
// repository left in the npm cache is used as it is; anything missing comes from the registry)
// and `--ignore-scripts`, which skips better-sqlite3's install script: that script downloads a
// prebuilt binary from GitHub or, failing that, compiles SQLite from source (about a minute). The
// native binary the repository's own install made — the same better-sqlite3 version for the same
// Node, this process's — is copied in instead. Our packages have no install scripts, so nothing
// of them is skipped. The whole install takes a few seconds.

const PROTOCOL_DIST = path.join(ROOT, 'dist', 'libs', 'sync-protocol');
const CLIENT_DIST = path.join(ROOT, 'dist', 'libs', 'sync-client');
const BETTER_SQLITE3 = path.join(ROOT, 'node_modules', 'better-sqlite3');
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

// npm's settings that say where packages come from (a CI's cache or registry) are kept.
const NPM_SOURCE = /^npm_config_(cache|registry|userconfig|globalconfig|proxy|https_proxy|noproxy|strict_ssl|cafile|ca)$/i;

/**
 * This environment without what would let a child resolve modules from the repository
 * (`NODE_PATH`) or carry the repository's npm run into the project (`npm_package_*`, prefixes).
 */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'NODE_PATH' || k === 'NODE_OPTIONS' || (/^npm_/i.test(k) && !NPM_SOURCE.test(k))) continue;
    env[k] = v;
  }
  return { ...env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
}

function run(cmd: string, args: string[], cwd: string, timeout = 120_000): string {
  const r = spawnSync(cmd, args, { cwd, env: cleanEnv(), encoding: 'utf8', timeout });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Every file under `dir`, relative, with `/`. */
function listFiles(dir: string, base = dir): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name), base) : [path.relative(base, path.join(dir, e.name))]))
    .sort();
}

// The desktop app's side, in plain JavaScript: `init` creates the workstation file from the
// server and writes a row with its own better-sqlite3 connection (as the app does), then syncs;
// `pull` opens the file again, syncs and reads a row another workstation wrote. It prints JSON.
const APP_SCRIPT = `'use strict';
const Database = require('better-sqlite3');
const { SyncClient, SyncError } = require('@cacpq/sync-client');
const { ERROR_CODES } = require('@cacpq/sync-protocol');

const [command, file, server, token, id] = process.argv.slice(2);
const out = (v) => process.stdout.write(JSON.stringify(v) + '\\n');

async function main() {
  const resolved = {
    client: require.resolve('@cacpq/sync-client'),
    protocol: require.resolve('@cacpq/sync-protocol'),
    betterSqlite3: require.resolve('better-sqlite3'),
  };
  if (command === 'init') {
    let refused = null;
    try {
      await SyncClient.init({ file: file + '.bad', server, token: 'cacpq_not-a-token', maxAttempts: 1 });
    } catch (err) {
      refused = { isSyncError: err instanceof SyncError, code: err.code, status: err.status, known: err.code in ERROR_CODES };
    }
    const client = await SyncClient.init({ file, server, token, clientId: 'ws-packed' });
    const app = new Database(file);
    app.prepare("INSERT INTO customers (id, name, type) VALUES (?, 'Packed SDK Customer', 'OEM')").run(id);
    app.close();
    const pending = client.status().pendingChanges;
    const summary = await client.syncNow();
    const status = client.status();
    await client.close();
    out({ resolved, refused, pending, summary, status, badFileLeft: require('node:fs').existsSync(file + '.bad') });
  } else if (command === 'pull') {
    const client = SyncClient.open(file);
    const summary = await client.syncNow();
    const row = client.db.prepare('SELECT id, name, type FROM customers WHERE id = ?').get(id) ?? null;
    await client.close();
    out({ resolved, summary, row });
  } else {
    throw new Error('unknown command ' + command);
  }
}
main().catch((err) => {
  process.stderr.write((err.code ? err.code + ': ' : '') + err.stack + '\\n');
  process.exit(1);
});
`;

// A TypeScript consumer: the packages' types resolve (not any: each @ts-expect-error must be needed).
const TYPES_CHECK = `import Database from 'better-sqlite3';
import { SyncClient, SyncError, type LocalStatus, type SyncSummary } from '@cacpq/sync-client';
import { ERROR_CODES, SyncSettings, type ErrorCode } from '@cacpq/sync-protocol';

export async function check(file: string): Promise<number> {
  const client: SyncClient = SyncClient.open(file, { maxAttempts: 3, trust: { fingerprint: 'AB:CD' } });
  const summary: SyncSummary = await client.syncNow();
  const status: LocalStatus = client.status();
  const setBy: 'server' | 'workstation' = status.intervalSetBy;
  client.setSchedule(240);
  client.setSchedule(null);
  client.on('synced', (s) => void s.pulled.toFixed());
  const db: Database.Database = client.db;
  const code: ErrorCode = 'NETWORK' in ERROR_CODES ? 'VALIDATION_FAILED' : 'INTERNAL';
  const err = new SyncError(code, 'a sentence');
  const range: number | null = SyncSettings.shape.intervalMinutes.minValue;
  // @ts-expect-error the interval is a number of minutes
  client.setSchedule('240');
  // @ts-expect-error a summary has no such field
  void summary.rowsPushed;
  // @ts-expect-error better-sqlite3's own types: prepare takes SQL text
  db.prepare(42);
  await client.close();
  return summary.pushed + status.pendingChanges + err.message.length + (range ?? 0) + setBy.length;
}
`;

describe('the packed workstation SDK in a project of its own', () => {
  let dir: string;
  let server: ServerProcess;
  let call: Awaited<ReturnType<typeof adminSession>>;
  let project: string;
  let tarballs: { name: string; filename: string; files: { path: string }[] }[];

  beforeAll(async () => {
    for (const d of [PROTOCOL_DIST, CLIENT_DIST])
      if (!fs.existsSync(path.join(d, 'package.json'))) throw new Error(`${d} is missing: run "npm run build" first.`);
    dir = tempDir('sdk-package');
    server = await startServer({ dataDir: path.join(dir, 'data') });
    call = await adminSession(server.url);

    tarballs = JSON.parse(run('npm', ['pack', PROTOCOL_DIST, CLIENT_DIST, '--json', '--pack-destination', dir], dir));
    project = path.join(dir, 'app');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'cacpq-desktop-app', version: '1.0.0', private: true }));
    const bsVersion = (JSON.parse(fs.readFileSync(path.join(BETTER_SQLITE3, 'package.json'), 'utf8')) as { version: string }).version;
    run(
      'npm',
      [
        'install',
        ...tarballs.map((t) => path.join(dir, t.filename)),
        `better-sqlite3@${bsVersion}`,
        '--prefer-offline',
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
      ],
      project,
      180_000,
    );
    const release = path.join(project, 'node_modules', 'better-sqlite3', 'build', 'Release');
    fs.mkdirSync(release, { recursive: true });
    fs.copyFileSync(path.join(BETTER_SQLITE3, 'build', 'Release', 'better_sqlite3.node'), path.join(release, 'better_sqlite3.node'));
  }, 240_000);

  afterAll(async () => {
    await server?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('packs and installs only the built package: code, types, README and the Electron example; better-sqlite3 as a peer', () => {
    expect(tarballs.map((t) => t.name)).toEqual(['@cacpq/sync-protocol', '@cacpq/sync-client']);
    const installed = (name: string) => path.join(project, 'node_modules', ...name.split('/'));
    const allowed = (files: string[], extra: RegExp) =>
      files.filter((f) => !/^[\w.-]+\.(js|d\.ts)$/.test(f) && !['package.json', 'README.md'].includes(f) && !extra.test(f));

    const clientFiles = listFiles(installed('@cacpq/sync-client'));
    expect(clientFiles).toEqual(
      expect.arrayContaining(['README.md', 'index.d.ts', 'index.js', 'sync-client.d.ts', 'examples/electron-main.ts']),
    );
    expect(allowed(clientFiles, /^examples\/electron-main\.ts$/)).toEqual([]);
    const protocolFiles = listFiles(installed('@cacpq/sync-protocol'));
    expect(protocolFiles).toEqual(expect.arrayContaining(['README.md', 'index.d.ts', 'index.js', 'sync.js']));
    expect(allowed(protocolFiles, /^$/)).toEqual([]);
    // No specs, spec helpers, source maps or build info in either; the tarball holds what is installed.
    for (const f of [...clientFiles, ...protocolFiles]) expect(f).not.toMatch(/spec|\.map$|tsbuildinfo/);
    expect(tarballs[1].files.map((f) => f.path).sort()).toEqual(clientFiles);
    expect(tarballs[0].files.map((f) => f.path).sort()).toEqual(protocolFiles);

    const pkg = JSON.parse(fs.readFileSync(path.join(installed('@cacpq/sync-client'), 'package.json'), 'utf8'));
    expect(pkg.peerDependencies).toEqual({ 'better-sqlite3': expect.stringMatching(/^[\^~]12\./) });
    expect(pkg.dependencies['better-sqlite3']).toBeUndefined();
    expect(pkg.dependencies['@cacpq/sync-protocol']).toBe('0.1.0');
    for (const p of [pkg, JSON.parse(fs.readFileSync(path.join(installed('@cacpq/sync-protocol'), 'package.json'), 'utf8'))]) {
      expect(fs.existsSync(path.join(installed(p.name), p.main))).toBe(true);
      expect(fs.existsSync(path.join(installed(p.name), p.types))).toBe(true);
    }
  });

  it('plain JavaScript with require("@cacpq/sync-client") initialises a workstation, syncs a row to the master, and pulls another workstation’s', async () => {
    await call('POST', '/api/v1/users', { username: 'packed', role: 'user' }).then((r) => expect(r.status).toBe(201));
    const tokenOf = async (device: string) =>
      ((await (await call('POST', '/api/v1/users/packed/tokens', { device })).json()) as { token: string }).token;
    fs.writeFileSync(path.join(project, 'workstation.js'), APP_SCRIPT);
    const file = path.join(project, 'ws.db');

    const first = JSON.parse(
      run(process.execPath, ['workstation.js', 'init', file, server.url, await tokenOf('packed-pc'), 'cust-packed'], project),
    );
    // Everything came from the temporary project, nothing from the repository.
    for (const p of Object.values(first.resolved as Record<string, string>))
      expect(p.startsWith(path.join(project, 'node_modules'))).toBe(true);
    expect(first.refused).toEqual({ isSyncError: true, code: 'INVALID_TOKEN', status: 401, known: true });
    expect(first.badFileLeft).toBe(false);
    expect(first.pending).toBe(1);
    expect(first.summary).toMatchObject({ pushed: 1, conflicts: 0, heldBack: 0 });
    expect(first.status).toMatchObject({ server: server.url, clientId: 'ws-packed', pendingChanges: 0, lastStatus: 'success' });

    // A second workstation (the repository's SDK) gets it, and writes one back for the packed one to pull.
    const other = await SyncClient.init({ file: path.join(dir, 'other.db'), server: server.url, token: await tokenOf('other-pc') });
    try {
      expect(other.db.prepare('SELECT name FROM customers WHERE id = ?').get('cust-packed')).toEqual({ name: 'Packed SDK Customer' });
      other.db.prepare(`INSERT INTO customers (id, name, type) VALUES ('cust-other', 'From the other PC', 'End User')`).run();
      expect(await other.syncNow()).toMatchObject({ pushed: 1, heldBack: 0 });
    } finally {
      await other.close();
    }
    const second = JSON.parse(run(process.execPath, ['workstation.js', 'pull', file, '', '', 'cust-other'], project));
    expect(second.summary).toMatchObject({ pushed: 0, pulled: 1 });
    expect(second.row).toEqual({ id: 'cust-other', name: 'From the other PC', type: 'End User' });

    // The server's sync log: the packed workstation's syncs, all successful, its one row pushed once.
    const activity = (await (await call('GET', '/api/v1/monitoring/sync-activity?clientId=ws-packed')).json()) as SyncActivityPage;
    expect(activity.rows.length).toBeGreaterThanOrEqual(2);
    expect(activity.rows.map((r) => [r.status, r.user])).toEqual(activity.rows.map(() => ['success', 'packed']));
    expect(activity.rows.reduce((n, r) => n + r.recordsPushed, 0)).toBe(1);

    // The master file has both rows, as written on their workstations. The server holds it
    // exclusively while it runs, so it is read once the server has stopped.
    expect(await server.stop()).toBe(0);
    const master = new Database(path.join(dir, 'data', 'database', 'server.db'), { readonly: true, fileMustExist: true });
    try {
      expect(
        master.prepare(`SELECT id, name, type, deleted FROM customers WHERE id IN ('cust-packed', 'cust-other') ORDER BY id`).all(),
      ).toEqual([
        { id: 'cust-other', name: 'From the other PC', type: 'End User', deleted: 0 },
        { id: 'cust-packed', name: 'Packed SDK Customer', type: 'OEM', deleted: 0 },
      ]);
    } finally {
      master.close();
    }
  });

  it('the installed types resolve for a TypeScript consumer (tsc --noEmit, strict, node16 resolution)', () => {
    fs.writeFileSync(path.join(project, 'check.ts'), TYPES_CHECK);
    fs.writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: 'ES2022',
          module: 'node16',
          moduleResolution: 'node16',
          types: ['node'],
          skipLibCheck: false,
        },
        files: ['check.ts'],
      }),
    );
    const r = spawnSync(process.execPath, [TSC, '-p', 'tsconfig.json'], {
      cwd: project,
      env: cleanEnv(),
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
  });
});
