import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const API_MAIN = path.join(ROOT, 'dist', 'api', 'apps', 'api', 'src', 'main.js');
export const ADMIN_PASSWORD = 'e2e-admin-password';

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `cacpq-e2e-${prefix}-`));
}

export interface ServerProcess {
  url: string;
  port: number;
  proc: ChildProcess;
  output(): string;
  /** SIGTERM and wait; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: the process dies at once, as in a power cut of the process. */
  kill9(): Promise<void>;
}

export interface StartOptions {
  dataDir: string;
  env?: Record<string, string>;
}

/** Starts the built API server as a real process on a loopback port the OS picks. */
export function startServer(opts: StartOptions): Promise<ServerProcess> {
  if (!fs.existsSync(API_MAIN)) throw new Error(`${API_MAIN} is missing: run "npm run build" first.`);
  const proc = spawn(process.execPath, [API_MAIN], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: opts.dataDir, PORT: '0', HOST: '127.0.0.1', ADMIN_PASSWORD, LOG_LEVEL: 'error', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 30 s:\n${out}`)), 30_000);
    const onData = () => {
      const m = /listening: open (https?):\/\/([^:]+):(\d+)\//.exec(out);
      if (!m) return;
      clearTimeout(timer);
      proc.stdout!.off('data', onData);
      const port = Number(m[3]);
      resolve({
        url: `${m[1]}://127.0.0.1:${port}`,
        port,
        proc,
        output: () => out,
        stop: async () => {
          if (proc.exitCode === null) proc.kill('SIGTERM');
          return exited;
        },
        kill9: async () => {
          proc.kill('SIGKILL');
          await exited;
        },
      });
    };
    proc.stdout!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${out}`));
    });
  });
}

/** Runs the server expecting it to refuse to start; returns its exit code and output. */
export function runToExit(dataDir: string, env: Record<string, string> = {}): { code: number | null; output: string } {
  const r = spawnSync(process.execPath, [API_MAIN], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', ADMIN_PASSWORD, LOG_LEVEL: 'warn', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

/** A signed-in account over HTTP (session cookie + CSRF token). */
export async function session(
  url: string,
  username: string,
  password: string,
): Promise<(method: string, p: string, body?: unknown) => Promise<Response>> {
  const login = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (login.status !== 200) throw new Error(`${username} login failed: ${login.status} ${await login.text()}`);
  const cookie = login.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const { csrfToken } = (await login.json()) as { csrfToken: string };
  const once = (method: string, p: string, body?: unknown) =>
    fetch(`${url}${p}`, {
      method,
      headers: { Cookie: cookie, 'X-CSRF-Token': csrfToken, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  // A pooled socket the server closed while this process was blocked on a child (over a minute on
  // a loaded machine) is retried once: the request never reached the server (closed before it was
  // read, or EPIPE while it was being written).
  return (method, p, body) =>
    once(method, p, body).catch((err: { cause?: { code?: string } }) => {
      if (err.cause?.code === 'UND_ERR_SOCKET' || err.cause?.code === 'EPIPE') return once(method, p, body);
      throw err;
    });
}

/** The signed-in admin over HTTP. */
export function adminSession(url: string): Promise<(method: string, p: string, body?: unknown) => Promise<Response>> {
  return session(url, 'admin', ADMIN_PASSWORD);
}

export function sqlite3(file: string, sql: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('sqlite3', ['-bail', file], { input: sql, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new Error(`could not run the sqlite3 shell: ${r.error.message} (apt-get install sqlite3)`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
