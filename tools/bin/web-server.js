// How to run the built dashboard (apps/web), for `npm start` and the end-to-end suites.
//
// apps/web/next.config.ts builds with `output: 'standalone'`: a self-contained server at
// apps/web/.next/standalone/apps/web/server.js. Next.js leaves the static assets (.next/static, and
// public/ if there is one) out of it; they are copied beside it here, once per build (a new build
// replaces the whole standalone directory). A build made without standalone output still runs,
// with `next start`.
const fs = require('node:fs');
const path = require('node:path');

/** Copies `from` to `to` unless `to` exists; through a temporary name, so a reader never sees half. */
function copyOnce(from, to) {
  if (!fs.existsSync(from) || fs.existsSync(to)) return;
  const tmp = `${to}.partial-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.cpSync(from, tmp, { recursive: true });
  try {
    fs.renameSync(tmp, to);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!fs.existsSync(to)) throw err; // else another process copied it first
  }
}

/**
 * The node arguments and environment that serve the built dashboard on host:port.
 * @param {string} root the repository root
 * @param {{ port: number | string, host: string }} where
 * @returns {{ args: string[], env: Record<string, string>, standalone: boolean }}
 */
function dashboardCommand(root, { port, host }) {
  const web = path.join(root, 'apps', 'web');
  const app = path.join(web, '.next', 'standalone', 'apps', 'web');
  const server = path.join(app, 'server.js');
  if (fs.existsSync(server)) {
    copyOnce(path.join(web, '.next', 'static'), path.join(app, '.next', 'static'));
    copyOnce(path.join(web, 'public'), path.join(app, 'public'));
    // server.js reads PORT and HOSTNAME (HOSTNAME is often the machine's name in a shell: set it).
    return { args: [server], env: { PORT: String(port), HOSTNAME: host }, standalone: true };
  }
  return {
    args: [path.join(root, 'node_modules', 'next', 'dist', 'bin', 'next'), 'start', web, '-p', String(port), '-H', host],
    env: { PORT: String(port) },
    standalone: false,
  };
}

module.exports = { dashboardCommand };
