import type { NestExpressApplication } from '@nestjs/platform-express';
import { MasterStore } from '@cacpq/db';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import request from 'supertest';
import { AppConfig } from '../src/config/app-config';
import { createApp } from '../src/server';
import { UsersService } from '../src/users/users.service';

export const ADMIN_PASSWORD = 'admin-password-for-tests';

export interface TestServer {
  app: NestExpressApplication;
  store: MasterStore;
  config: AppConfig;
  dataDir: string;
  http: ReturnType<typeof request>;
  close(): Promise<void>;
}

/** The real application on a temporary data directory (no listening port: supertest drives it). */
export async function startTestServer(
  env: Record<string, string> = {},
  opts: { baseDir?: string; prepare?: (dataDir: string) => void } = {},
): Promise<TestServer> {
  const dataDir = fs.mkdtempSync(path.join(opts.baseDir ?? os.tmpdir(), 'cacpq-api-'));
  opts.prepare?.(dataDir);
  const config = AppConfig.fromEnv({ DATA_DIR: dataDir, ADMIN_PASSWORD, LOG_LEVEL: 'silent', ...env });
  const store = await MasterStore.open({ dataDir, busyTimeoutMs: 1000 });
  const stdout = process.stdout.write.bind(process.stdout);
  // The first-start banner goes to stdout; keep test output clean.
  process.stdout.write = (() => true) as typeof process.stdout.write;
  let app: NestExpressApplication;
  try {
    app = await createApp(config, store, pino({ level: 'silent' }));
    await app.init();
    await app.get(UsersService).ensureFirstAdmin();
  } finally {
    process.stdout.write = stdout;
  }
  return {
    app,
    store,
    config,
    dataDir,
    http: request(app.getHttpServer()),
    async close() {
      await app.close();
      await store.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Caller {
  name: string;
  /** Adds this caller's credentials to a supertest request. */
  auth(req: request.Test, method: string): request.Test;
}

/** Signs in and returns a caller that sends the session cookie and, for writes, the CSRF token. */
export async function sessionCaller(server: TestServer, username: string, password: string): Promise<Caller> {
  const res = await server.http.post('/api/v1/auth/login').send({ username, password }).expect(200);
  const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]);
  const csrf = (res.body as { csrfToken: string }).csrfToken;
  return {
    name: `${username} (session)`,
    auth: (req, method) => {
      req.set('Cookie', cookies.join('; '));
      return method === 'GET' ? req : req.set('X-CSRF-Token', csrf);
    },
  };
}

export function tokenCaller(name: string, token: string): Caller {
  return { name, auth: (req) => req.set('Authorization', `Bearer ${token}`) };
}

export const anonymous: Caller = { name: 'anonymous', auth: (req) => req };

/** Creates an account through the API as the admin and returns a session and a token caller for it. */
export async function makeUser(server: TestServer, admin: Caller, username: string, role: string) {
  const password = `${username}-password-123`;
  await admin.auth(server.http.post('/api/v1/users'), 'POST').send({ username, role, password }).expect(201);
  const tok = await admin
    .auth(server.http.post(`/api/v1/users/${username}/tokens`), 'POST')
    .send({ device: `${username}-pc` })
    .expect(201);
  return {
    password,
    session: await sessionCaller(server, username, password),
    token: tokenCaller(`${username} (token)`, (tok.body as { token: string }).token),
    tokenId: (tok.body as { id: string }).id,
  };
}

export function send(req: request.Test, body: unknown): request.Test {
  return body === undefined ? req : req.send(body as object);
}
