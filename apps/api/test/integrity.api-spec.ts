import { randomUUID } from 'node:crypto';
import {
  WORKSTATION_HEADERS,
  type PushChange,
  type PushRefusedDetails,
  type PushResponse,
  type RefusalOutcome,
  type RefusalView,
  type ReinitializeDetails,
  type WorkstationClonedDetails,
} from '@cacpq/sync-protocol';
import { ADMIN_PASSWORD, makeUser, sessionCaller, startTestServer, type Caller, type TestServer } from './harness';

// The sync-integrity parts of the HTTP API (issue 12): refused changes and what admins do with
// them, copies of workstation files, offline numbers, give-backs and purged rows.

let server: TestServer;
let admin: Caller;
let manager: Caller;
let alice: Caller;
let bob: Caller;
let generation: string;

beforeAll(async () => {
  server = await startTestServer();
  admin = await sessionCaller(server, 'admin', ADMIN_PASSWORD);
  manager = (await makeUser(server, admin, 'mona', 'manager')).session;
  alice = (await makeUser(server, admin, 'alice', 'user')).token;
  bob = (await makeUser(server, admin, 'bob', 'user')).token;
  generation = server.store.generation;
});
afterAll(() => server.close());

const iso = (offsetMs = 0) => new Date(Date.now() + offsetMs).toISOString();

function push(
  caller: Caller,
  changes: unknown[],
  opts: { clientId?: string; clientTime?: string; cursor?: number; headers?: Record<string, string> } = {},
) {
  const req = caller.auth(server.http.post('/api/v1/sync/push'), 'POST');
  for (const [k, v] of Object.entries(opts.headers ?? {})) req.set(k, v);
  return req.send({
    protocolVersion: 1,
    clientId: opts.clientId ?? 'ws-int',
    batchId: randomUUID(),
    generation,
    clientTime: opts.clientTime ?? iso(),
    ...(opts.cursor !== undefined ? { cursor: opts.cursor } : {}),
    changes,
  });
}

const customer = (id: string, values: Record<string, unknown>, extra: Partial<PushChange> = {}) => ({
  table: 'customers',
  op: 'upsert',
  id,
  baseVersion: 0,
  updatedAt: iso(),
  values: { name: `Customer ${id}`, type: 'OEM', ...values },
  ...extra,
});

const row = (table: string, id: string) =>
  server.store.serverDb.prepare(`SELECT * FROM "${table}" WHERE id = ?`).get(id) as Record<string, unknown> | undefined;

async function refusals(status = 'open'): Promise<RefusalView[]> {
  return (await manager.auth(server.http.get(`/api/v1/refusals?status=${status}`), 'GET').expect(200)).body as RefusalView[];
}

describe('refused changes', () => {
  it('lists every refused change of a batch, applies nothing of it, and records each for the admins', async () => {
    const before = server.store.serverDb.prepare(`SELECT value FROM sync_state WHERE key = 'last_seq'`).pluck().get();
    const res = await push(alice, [
      customer('ref-ok', {}),
      customer('ref-type', { type: 'oem' }),
      customer('ref-notes', { notes: 'n'.repeat(4001) }),
      { ...customer('ref-blob', {}), values: { name: 'Blob', type: 'OEM', notes: { $blob: 'AAH/' } } },
      { ...customer('ref-shape', {}), id: 'x'.repeat(65) },
      { table: 'payroll', op: 'upsert', id: 'p1', baseVersion: 0, updatedAt: iso(), values: { a: 1 } },
    ]).expect(400);
    const body = res.body as { code: string; message: string; details: PushRefusedDetails };
    expect(body.code).toBe('VALIDATION_FAILED');
    expect(body.message).toMatch(/4 more changes were refused too \(details\.refused\); nothing of this batch was applied\.$/);
    expect(body.details.refused.map((r) => [r.index, r.column, r.code])).toEqual([
      [1, 'type', 'VALIDATION_FAILED'],
      [2, 'notes', 'VALIDATION_FAILED'],
      [3, 'notes', 'VALIDATION_FAILED'],
      [4, null, 'VALIDATION_FAILED'],
      [5, null, 'SCHEMA_AHEAD'],
    ]);
    expect(body.details.refused[2].message).toMatch(/binary data \(a BLOB of 3 bytes\)/);
    // Refused for what they are: recorded for the admins. Ahead of the master's schema: waits for a migration, not an admin.
    expect(body.details.refused.map((r) => typeof r.refusalId)).toEqual(['number', 'number', 'number', 'number', 'object']);
    expect(row('customers', 'ref-ok')).toBeUndefined();
    expect(server.store.serverDb.prepare(`SELECT value FROM sync_state WHERE key = 'last_seq'`).pluck().get()).toBe(before);

    const listed = (await refusals()).filter((r) => r.clientId === 'ws-int');
    expect(listed.find((r) => r.rowId === 'ref-type')).toMatchObject({
      user: 'alice',
      table: 'customers',
      column: 'type',
      value: 'oem',
      overridable: true,
      times: 1,
    });
    expect(listed.find((r) => r.rowId === 'ref-blob')).toMatchObject({ value: '(binary data, 3 bytes)', overridable: false });
    expect(listed.find((r) => r.table === 'payroll')).toBeUndefined();

    // Sent again without the refused ones: applied, and a refusal of the same row is counted, not repeated.
    await push(alice, [customer('ref-ok', {})]).expect(200);
    await push(alice, [customer('ref-type', { type: 'oem' })]).expect(400);
    expect((await refusals()).filter((r) => r.rowId === 'ref-type')).toMatchObject([{ times: 2 }]);
  });

  it('checks only the columns an edit changes: an old value the rules refuse never blocks another column', async () => {
    await push(alice, [customer('legacy-1', {})]).expect(200);
    server.store.serverDb.prepare(`UPDATE customers SET type = 'oem', notes = ? WHERE id = 'legacy-1'`).run('x'.repeat(5000));
    const master = row('customers', 'legacy-1')!;
    const values = { name: master.name, type: 'oem', notes: master.notes, email: 'new@example.com' };
    const ok = await push(alice, [
      customer('legacy-1', values, { baseVersion: master.server_seq as number, changed: ['email'], base: { email: null } }),
    ]).expect(200);
    expect((ok.body as PushResponse).results[0].outcome).toBe('applied');
    expect(row('customers', 'legacy-1')).toMatchObject({ email: 'new@example.com', type: 'oem' });
    // Changing the refused column itself is checked.
    await push(alice, [
      customer('legacy-1', { ...values, type: 'oem2' }, { baseVersion: master.server_seq as number, changed: ['type'] }),
    ]).expect(400);
  });

  it('lets an admin take a value only a rule refused, fix another, discard a third; managers read, users are refused', async () => {
    await push(
      bob,
      [customer('adm-take', { type: 'oem' }), customer('adm-fix', { notes: 'n'.repeat(4001) }), customer('adm-drop', { type: 'End-User' })],
      {
        clientId: 'ws-bob',
      },
    ).expect(400);
    const mine = (await refusals()).filter((r) => r.clientId === 'ws-bob');
    const id = (rowId: string) => mine.find((r) => r.rowId === rowId)!.id;

    await manager.auth(server.http.post(`/api/v1/refusals/${id('adm-take')}/accept`), 'POST').expect(403);
    await bob.auth(server.http.get('/api/v1/refusals'), 'GET').expect(403);

    const taken = (await admin.auth(server.http.post(`/api/v1/refusals/${id('adm-take')}/accept`), 'POST').expect(200)).body as RefusalView;
    expect(taken).toMatchObject({ status: 'accepted', resolvedBy: 'admin' });
    expect(row('customers', 'adm-take')).toMatchObject({ type: 'oem', updated_by: 'bob' });

    const stillBad = await admin
      .auth(server.http.post(`/api/v1/refusals/${id('adm-fix')}/resubmit`), 'POST')
      .send({ values: { notes: 'n'.repeat(4001) } });
    expect({ status: stillBad.status, code: stillBad.body.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    expect(stillBad.body.message).toMatch(/the refused change stays open\.$/);
    await admin
      .auth(server.http.post(`/api/v1/refusals/${id('adm-fix')}/resubmit`), 'POST')
      .send({ values: { colour: 'red' } })
      .expect(400);
    await admin
      .auth(server.http.post(`/api/v1/refusals/${id('adm-fix')}/resubmit`), 'POST')
      .send({ values: {} })
      .expect(400);
    const fixed = (
      await admin
        .auth(server.http.post(`/api/v1/refusals/${id('adm-fix')}/resubmit`), 'POST')
        .send({ values: { notes: 'shorter' } })
        .expect(200)
    ).body as RefusalView;
    expect(fixed.status).toBe('resubmitted');
    expect(row('customers', 'adm-fix')).toMatchObject({ notes: 'shorter', updated_by: 'bob' });

    const dropped = (await admin.auth(server.http.post(`/api/v1/refusals/${id('adm-drop')}/discard`), 'POST').expect(200))
      .body as RefusalView;
    expect(dropped.status).toBe('discarded');
    expect(row('customers', 'adm-drop')).toBeUndefined();
    const again = await admin.auth(server.http.post(`/api/v1/refusals/${id('adm-drop')}/discard`), 'POST');
    expect({ status: again.status, code: again.body.code }).toEqual({ status: 409, code: 'ALREADY_RESOLVED' });
    await admin.auth(server.http.post('/api/v1/refusals/abc/accept'), 'POST').expect(400);

    const audit = (await admin.auth(server.http.get('/api/v1/audit?action=refusal.discard'), 'GET').expect(200)).body as {
      details: { refused: Record<string, unknown> };
    }[];
    expect(audit[0].details.refused).toMatchObject({ type: 'End-User' });

    // The workstation asks what became of them: decided ones come with the master's row.
    const outcomes = (
      await bob
        .auth(
          server.http.get(`/api/v1/sync/refusals?clientId=ws-bob&ids=${[id('adm-take'), id('adm-fix'), id('adm-drop')].join(',')}`),
          'GET',
        )
        .expect(200)
    ).body as RefusalOutcome[];
    expect(outcomes.map((o) => [o.status, o.row?.type ?? null])).toEqual([
      ['accepted', 'oem'],
      ['resubmitted', 'OEM'],
      ['discarded', null],
    ]);
    // Not another user's refusals, nor nonsense ids.
    expect(
      (await alice.auth(server.http.get(`/api/v1/sync/refusals?clientId=ws-bob&ids=${id('adm-take')}`), 'GET').expect(200)).body,
    ).toEqual([]);
    await bob.auth(server.http.get('/api/v1/sync/refusals?clientId=ws-bob&ids=1,,2'), 'GET').expect(400);
  });

  it('refuses to take a value of the wrong type, or one the server never saw', async () => {
    await push(alice, [
      { ...customer('type-wrong', {}), table: 'components', values: { sku: 'S', name: 'N', leadTimeDays: '2-3 weeks' } },
    ]).expect(400);
    const wrong = (await refusals()).find((r) => r.rowId === 'type-wrong')!;
    expect(wrong.overridable).toBe(false);
    const res = await admin.auth(server.http.post(`/api/v1/refusals/${wrong.id}/accept`), 'POST');
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    expect(res.body.message).toMatch(/cannot be taken as it is/);

    const reported = (
      await alice
        .auth(server.http.post('/api/v1/sync/refusals'), 'POST')
        .send({
          clientId: 'ws-int',
          refused: [{ table: 'quotes', id: 'too-big', op: 'upsert', code: 'PAYLOAD_TOO_LARGE', message: 'The row is 9 MB.' }],
        })
        .expect(200)
    ).body as { ids: number[] };
    const big = await admin.auth(server.http.post(`/api/v1/refusals/${reported.ids[0]}/accept`), 'POST');
    expect({ status: big.status, code: big.body.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    expect(big.body.message).toMatch(/the row was too large to send/);
    await alice.auth(server.http.post('/api/v1/sync/refusals'), 'POST').send({ clientId: 'ws-int', refused: [] }).expect(400);
  });

  it("answers the values it stores in another form (a date-time in SQLite's) without the whole row", async () => {
    const res = await push(alice, [customer('stored-1', { createdAt: '2026-11-24T09:30:00Z', notes: 'x'.repeat(3000) })]).expect(200);
    const [result] = (res.body as PushResponse).results;
    expect(result).toMatchObject({ outcome: 'applied', stored: { createdAt: '2026-11-24 09:30:00.000' } });
    expect(result.row).toBeUndefined();
    expect(row('customers', 'stored-1')!.createdAt).toBe('2026-11-24 09:30:00.000');
  });

  it('closes an open refusal as fixed when the workstation sends the row again and it goes through', async () => {
    await push(alice, [customer('fix-me', { type: 'oem' })], { clientId: 'ws-fixer' }).expect(400);
    await push(alice, [customer('fix-me', { type: 'OEM' })], { clientId: 'ws-fixer' }).expect(200);
    expect((await refusals('all')).find((r) => r.rowId === 'fix-me')).toMatchObject({ status: 'fixed' });
  });
});

describe('workstation files and clocks', () => {
  const headers = (clientId: string, fileId: string, counter: number, syncId: string, extra: Record<string, string> = {}) => ({
    [WORKSTATION_HEADERS.clientId]: clientId,
    [WORKSTATION_HEADERS.fileId]: fileId,
    [WORKSTATION_HEADERS.syncCounter]: String(counter),
    [WORKSTATION_HEADERS.syncId]: syncId,
    [WORKSTATION_HEADERS.host]: 'laptop-1',
    ...extra,
  });
  const info = (h: Record<string, string>) => {
    const req = alice.auth(server.http.get('/api/v1/sync/info'), 'GET');
    for (const [k, v] of Object.entries(h)) req.set(k, v);
    return req;
  };

  it('notices a second copy of a file (a counter repeated under another sync, or gone back) and gives it a new id', async () => {
    await info(headers('ws-copy', 'file-a', 1, 's1')).expect(200);
    await info(headers('ws-copy', 'file-a', 1, 's1')).expect(200); // the same sync, asking again
    await info(headers('ws-copy', 'file-a', 2, 's2')).expect(200);
    const copy = await info(headers('ws-copy', 'file-a', 2, 's-other', { [WORKSTATION_HEADERS.host]: 'laptop-2' })).expect(409);
    const details = copy.body.details as WorkstationClonedDetails;
    expect(copy.body.code).toBe('WORKSTATION_CLONED');
    expect(details).toMatchObject({ clientId: 'ws-copy', reason: 'copied', original: { host: 'laptop-1' } });
    expect(details.newClientId).toMatch(/^ws-copy-copy-[0-9a-f]{6}$/);
    const back = await info(headers('ws-copy', 'file-a', 1, 's-old')).expect(409);
    expect((back.body.details as WorkstationClonedDetails).reason).toBe('rolled-back');
    // A new file under the id (the PC set up again) takes over; the file it replaced may not come back.
    await info(headers('ws-copy', 'file-b', 1, 's3')).expect(200);
    expect((await info(headers('ws-copy', 'file-a', 9, 's4')).expect(409)).body.details.reason).toBe('copied');
    // Headers that are not the SDK's are ignored, never a 500.
    await info({ [WORKSTATION_HEADERS.clientId]: 'ws copy!', [WORKSTATION_HEADERS.syncCounter]: 'many' }).expect(200);
    await info(headers('ws-odd', 'f'.repeat(101), 1, 's')).expect(200);
  });

  it('measures the clock of every request both ways, and corrects a clock running behind', async () => {
    await info({ [WORKSTATION_HEADERS.clientId]: 'ws-slow', [WORKSTATION_HEADERS.clientTime]: iso(-2 * 86_400_000) }).expect(200);
    const [clock] = server.store.hubDb
      .prepare(`SELECT skew_ms FROM workstation_clocks WHERE client_id = 'ws-slow'`)
      .pluck()
      .all() as number[];
    expect(Math.round(clock / 3_600_000)).toBe(-48);

    await push(alice, [customer('clock-1', { city: 'first' })]).expect(200);
    const v = row('customers', 'clock-1')!.server_seq as number;
    // A later real edit from a clock two days behind: its time is moved forward by the measured offset, and it wins.
    await new Promise((r) => setTimeout(r, 20));
    const late = await push(
      bob,
      [customer('clock-1', { city: 'later, slow clock' }, { baseVersion: v - 1, updatedAt: iso(-2 * 86_400_000), changed: ['city'] })],
      {
        clientId: 'ws-slow',
        clientTime: iso(-2 * 86_400_000),
      },
    ).expect(200);
    expect((late.body as PushResponse).clockCorrected).toBe(true);
    expect(row('customers', 'clock-1')!.city).toBe('later, slow clock');
  });

  it('registers numbers used offline and names a number two records use', async () => {
    const uses = (clientId: string, id: string) => ({
      clientId,
      uses: [{ number: 'Q-OFF-1', kind: 'quote', usedAt: iso(), table: 'quotes', id }],
    });
    const first = await alice.auth(server.http.post('/api/v1/numbers/uses'), 'POST').send(uses('ws-n1', 'q-1')).expect(201);
    expect(first.body).toEqual({ registered: 1, duplicates: [] });
    // The same record again (a copy of the file, a retry): not a duplicate.
    expect(
      (await alice.auth(server.http.post('/api/v1/numbers/uses'), 'POST').send(uses('ws-n2', 'q-1')).expect(201)).body.duplicates,
    ).toEqual([]);
    expect(
      (await bob.auth(server.http.post('/api/v1/numbers/uses'), 'POST').send(uses('ws-n3', 'q-2')).expect(201)).body.duplicates,
    ).toEqual(['Q-OFF-1']);
    await alice.auth(server.http.post('/api/v1/numbers/uses'), 'POST').send({ clientId: 'ws-n1', uses: [] }).expect(400);
    await alice
      .auth(server.http.post('/api/v1/numbers/uses'), 'POST')
      .send({ clientId: 'ws-n1', uses: [{ number: 'X', kind: 'invoice', usedAt: iso() }] })
      .expect(400);
  });
});

describe('purged rows and expired cursors', () => {
  it('keeps an edit of a row the master no longer has as a "deleted elsewhere" conflict, never a new row', async () => {
    await push(alice, [customer('gone-1', {})]).expect(200);
    const seq = row('customers', 'gone-1')!.server_seq as number;
    server.store.serverDb.prepare(`DELETE FROM customers WHERE id = 'gone-1'`).run();
    const res = await push(alice, [customer('gone-1', { notes: 'stale' }, { baseVersion: seq, changed: ['notes'] })]).expect(200);
    expect((res.body as PushResponse).results[0]).toMatchObject({ outcome: 'conflict_lost', deleted: true, row: null });
    expect(row('customers', 'gone-1')).toBeUndefined();
    const conflict = server.store.serverDb.prepare(`SELECT kind, winner, server_version FROM sync_conflicts WHERE row_id = 'gone-1'`).get();
    expect(conflict).toEqual({ kind: 'update-vs-delete', winner: 'server', server_version: null });
  });

  it('answers a push from before purged deletions 409 REINITIALIZE before applying anything', async () => {
    server.store.serverDb.prepare(`UPDATE sync_state SET value = '5' WHERE key = 'purged_seq'`).run();
    try {
      const res = await push(alice, [customer('expired-1', {})], { cursor: 3 }).expect(409);
      expect((res.body.details as ReinitializeDetails).reason).toBe('cursor-expired');
      expect(row('customers', 'expired-1')).toBeUndefined();
      await push(alice, [customer('expired-1', {})], { cursor: 5 }).expect(200);
    } finally {
      server.store.serverDb.prepare(`UPDATE sync_state SET value = '0' WHERE key = 'purged_seq'`).run();
    }
  });
});

describe('alerts of sync integrity', () => {
  it('opens an alert for refused changes waiting, for a copied workstation file (naming both PCs), and for a number used twice', async () => {
    const evaluation = (await admin.auth(server.http.post('/api/v1/alerts/evaluate'), 'POST').expect(200)).body as {
      opened: { rule: string; subject: string; message: string }[];
    };
    const by = (rule: string) => evaluation.opened.filter((a) => a.rule === rule);
    const openRefusals = (await refusals()).length;
    expect(openRefusals).toBeGreaterThan(0);
    expect(by('refused-changes')).toHaveLength(1);
    expect(by('refused-changes')[0].message).toMatch(
      new RegExp(`^${openRefusals} changes from \\d+ workstations? were refused by the master`),
    );
    const copies = by('workstation-copy');
    expect(copies.length).toBeGreaterThanOrEqual(2);
    expect(copies.find((a) => a.message.includes('copy of workstation ws-copy') && a.message.includes('laptop-2'))?.message).toMatch(
      /while ws-copy is on laptop-1/,
    );
    expect(by('duplicate-number')).toMatchObject([
      {
        subject: 'number:Q-OFF-1',
        message: expect.stringMatching(
          /^Number Q-OFF-1 is used by 2 records: quotes q-1 on ws-n1 \(alice\) and ws-n2 \(alice\); quotes q-2 on ws-n3 \(bob\)\. /,
        ),
      },
    ]);
  });
});
