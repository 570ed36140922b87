#!/usr/bin/env node
// `npm start`: builds what is missing or out of date, then runs the API server on PORT (the one
// origin people open) and the Next.js dashboard behind it on a loopback port: WEB_PORT if set, else
// a free one chosen at start (so a busy PORT+1 never stops the start).
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { dashboardCommand } = require('./web-server');

const root = path.resolve(__dirname, '..', '..');
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NX_DAEMON: 'false' };

function portSetting(name, fallback) {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    console.error(`${name} must be a whole number from 0 to 65535 (got "${raw}"). Not started.`);
    process.exit(2);
  }
  return n;
}
portSetting('PORT', 3000); // checked here so a bad PORT is named before anything is built or started
const fixedWebPort = portSetting('WEB_PORT', undefined);
if (fixedWebPort === 0) {
  console.error('WEB_PORT must be a port from 1 to 65535, or unset for a free one. Not started.');
  process.exit(2);
}

/** A loopback port nobody listens on now: the OS picks it. */
function freeLoopbackPort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (['node_modules', '.next', 'dist'].includes(entry.name)) continue;
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}
const mtime = (f) => (fs.existsSync(f) ? fs.statSync(f).mtimeMs : 0);
const sources = Math.max(...['apps', 'libs', 'tools/src'].map((d) => newestMtime(path.join(root, d))));
const apiBuilt = mtime(path.join(root, 'dist/api/apps/api/src/main.js'));
const webBuilt = mtime(path.join(root, 'apps/web/.next/BUILD_ID'));
if (apiBuilt < sources || webBuilt < sources) {
  console.log('Building the server and dashboard (first start or sources changed)…');
  const r = spawnSync('npx', ['nx', 'run-many', '-t', 'build', '--outputStyle=stream'], { cwd: root, env, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('The build failed; see above. Not started.');
    process.exit(r.status || 1);
  }
}

const children = [];
function run(name, args, extraEnv) {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...env, ...extraEnv }, stdio: 'inherit' });
  children.push(child);
  child.on('exit', (code, signal) => {
    if (stopping) return;
    console.error(`${name} stopped (${signal || `exit code ${code}`}); stopping the rest.`);
    stop(code || 1);
  });
  return child;
}
let stopping = false;
function stop(code) {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  const left = () => children.every((c) => c.exitCode !== null || c.signalCode !== null);
  const timer = setInterval(() => {
    if (left()) {
      clearInterval(timer);
      process.exit(code);
    }
  }, 100);
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

async function main() {
  const webPort = fixedWebPort ?? (await freeLoopbackPort());
  const dashboard = dashboardCommand(root, { port: webPort, host: '127.0.0.1' });
  run('dashboard', dashboard.args, dashboard.env);
  run('server', [path.join(root, 'dist/api/apps/api/src/main.js')], { WEB_URL: `http://127.0.0.1:${webPort}` });
}
main().catch((err) => {
  console.error(`Not started: ${err.message}`);
  process.exit(1);
});
