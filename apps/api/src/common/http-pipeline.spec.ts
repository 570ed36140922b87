import express from 'express';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import request from 'supertest';
import { requestId, requestLog } from './http-pipeline';

interface Line {
  level: number;
  msg: string;
  req: { id: string; method: string; url: string };
  res: { statusCode: number };
  responseTime: number;
}

describe('requestLog: one line per request, its level from the outcome', () => {
  let lines: Line[];
  let app: express.Express;

  beforeEach(() => {
    lines = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as Line) });
    app = express();
    app.use(requestId());
    app.use(requestLog(logger));
    app.get('/api/health', (_req, res) => res.json({ status: 'ok' }));
    app.get('/api/v1/ok', (_req, res) => res.json({ ok: true }));
    app.get('/api/v1/fails', (_req, res) => res.status(500).json({ code: 'INTERNAL' }));
    app.get('/api/v1/slow', (_req, res) => setTimeout(() => res.json({ late: true }), 300));
  });

  it('logs a 200 at info, a 404 at warn and a 500 at error, with the request id, and never the health probe', async () => {
    await request(app).get('/api/v1/ok?x=1').set('X-Request-Id', 'req-1').expect(200);
    await request(app).get('/api/v1/nowhere').set('X-Request-Id', 'req-2').expect(404);
    await request(app).get('/api/v1/fails').set('X-Request-Id', 'req-3').expect(500);
    await request(app).get('/api/health').expect(200);
    expect(lines.map((l) => [l.level, l.msg, l.req, l.res.statusCode])).toEqual([
      [30, 'request completed', { id: 'req-1', method: 'GET', url: '/api/v1/ok?x=1' }, 200],
      [40, 'request completed', { id: 'req-2', method: 'GET', url: '/api/v1/nowhere' }, 404],
      [50, 'request completed', { id: 'req-3', method: 'GET', url: '/api/v1/fails' }, 500],
    ]);
    for (const l of lines) expect(l.responseTime).toBeGreaterThanOrEqual(0);
  });

  it('logs a request whose client left before the answer as aborted, at warn (a dropped link is not a server error)', async () => {
    const server = http.createServer(app).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const req = http.get({ host: '127.0.0.1', port, path: '/api/v1/slow', headers: { 'X-Request-Id': 'gone-1' } });
      req.on('error', () => undefined);
      setTimeout(() => req.destroy(), 50);
      const deadline = Date.now() + 5000;
      while (lines.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(lines.map((l) => [l.level, l.msg, l.req.id])).toEqual([[40, 'request aborted', 'gone-1']]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('builds nothing when the level is off', async () => {
    const quiet: string[] = [];
    const logger = pino({ level: 'error' }, { write: (s: string) => quiet.push(s) });
    const app2 = express().use(requestId(), requestLog(logger));
    app2.get('/ok', (_req, res) => res.json({}));
    await request(app2).get('/ok').expect(200);
    await request(app2).get('/missing').expect(404);
    expect(quiet).toEqual([]);
  });
});
