import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The admin password of the servers the benchmarks start on their temporary data directories. */
export const BENCH_ADMIN_PASSWORD = 'bench-admin-password';

export interface BenchServer {
  url: string;
  proc: ChildProcess;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<number | null>;
}

export function repoRoot(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'cacpq-sync-server') return dir;
  }
  throw new Error('cannot find the repository root');
}

/**
 * The built API server as a real process on a loopback port the OS picks (`CACPQ_API_MAIN` may
 * point at another build, `CACPQ_SERVER_NODE_ARGS` add node options such as `--cpu-prof`). Starting on a big master may run migrations first: hence the long wait.
 */
export function startBenchServer(root: string, dataDir: string, startTimeoutMs = 300_000): Promise<BenchServer> {
  const main = process.env.CACPQ_API_MAIN ?? path.join(root, 'dist', 'api', 'apps', 'api', 'src', 'main.js');
  if (!fs.existsSync(main)) throw new Error(`${main} is missing: run "npm run build" first.`);
  // CACPQ_SERVER_NODE_ARGS: extra node options for the server process (a CPU profile of it, say).
  const nodeArgs = (process.env.CACPQ_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = spawn(process.execPath, [...nodeArgs, main], {
    cwd: root,
    env: { ...process.env, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', ADMIN_PASSWORD: BENCH_ADMIN_PASSWORD, LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start in ${startTimeoutMs / 1000} s:\n${log}`)), startTimeoutMs);
    proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    proc.stdout!.on('data', (d: Buffer) => {
      log += d.toString();
      const m = /listening: open http:\/\/[^:]+:(\d+)\//.exec(log);
      if (!m) return;
      clearTimeout(timer);
      resolve({
        url: `http://127.0.0.1:${m[1]}`,
        proc,
        stop: () => {
          if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
          return exited;
        },
      });
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code}:\n${log}`));
    });
  });
}
