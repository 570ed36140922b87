import fc from 'fast-check';

/**
 * Generators of hostile requests. Every request they produce must be refused: each is built from
 * valid parts (so it gets past the first check) plus at least one part that makes it invalid or
 * unauthorised on its own. Optional "noise" (huge strings, odd encodings, -0) never counts as that
 * part. The suite checks the claim twice: every answer must be a 4xx, and the master must be
 * byte-identical afterwards.
 */

export type Group = 'push' | 'pull' | 'numbers' | 'auth' | 'admin';
export type Caller =
  | 'anonymous'
  | 'user'
  | 'manager'
  | 'admin'
  | 'adminSession'
  | 'adminSessionNoCsrf'
  | 'adminSessionBadOrigin'
  | 'managerSession'
  | 'revoked'
  | 'disabled'
  | 'bogusToken';

/** Callers every route refuses (401/403) whatever the request says. */
export const REFUSED_CALLERS: Caller[] = ['anonymous', 'revoked', 'disabled', 'bogusToken'];

export interface HostileRequest {
  group: Group;
  /** Which generator made it: `push:unknown-table`, ... */
  label: string;
  method: string;
  path: string;
  as: Caller;
  /** JSON value to send (placeholders below are expanded), or a raw body. */
  json?: unknown;
  body?: Buffer | (() => Buffer);
  /** Content-Type; default application/json when there is a body; null sends none. */
  contentType?: string | null;
  headers?: Record<string, string>;
  /** Sent on a raw socket: header lines node:http would refuse, half-closed bodies. */
  raw?: { headerLines: Buffer[]; body?: Buffer; declaredLength?: number; halfClose?: boolean; requestLine?: Buffer };
  /** Sent without Content-Length (chunked), as a stream that never says its size. */
  chunked?: boolean;
  /** The answer is Node's own to broken HTTP (no JSON body), or the connection may close without one. */
  plain?: boolean;
  mayClose?: boolean;
}

export interface Column {
  name: string;
  type: 'text' | 'integer' | 'real' | 'datetime' | 'json' | 'boolean';
  nullable: boolean;
  maxLength?: number;
  values?: string[];
}

export interface Table {
  name: string;
  /** Data columns: what a workstation may send in `values`. */
  columns: Column[];
}

export interface ExistingRow {
  table: string;
  id: string;
  seq: number;
}

export interface Context {
  generation: string;
  lastSeq: number;
  tables: Table[];
  rows: ExistingRow[];
  backupId: number;
  confirmPhrase: string;
  conflictIds: number[];
  usernames: string[];
  tokenIds: string[];
  /** Passwords that work: never sent. */
  secrets: string[];
}

/** What the server accepts as a username (the contract's Username). */
const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$/;

export const SERVER_COLUMNS = ['id', 'updated_at', 'updated_by', 'synced_at', 'server_seq', 'deleted'];
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'isPrototypeOf'];
const SQLISH = [
  "' OR '1'='1",
  '"; DROP TABLE quotes; --',
  'customers; DELETE FROM customers',
  'sqlite_master',
  'sync_log',
  'sync_state',
  'main.customers',
  'customers" --',
  '1 UNION SELECT * FROM users',
  "x' AND 1=(SELECT COUNT(*) FROM sqlite_master) --",
];
const TRAVERSAL = [
  '..',
  '../',
  '../../hub/hub.db',
  '..\\..\\hub\\hub.db',
  '/etc/passwd',
  '....//....//',
  '%2e%2e%2f',
  '..%2f..%2f',
  '..%c0%af',
];

/** Odd strings: empty, control characters, lone surrogates, SQL, traversal, prototype names, long. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\u0000admin',
    '\r\nX-Injected: 1',
    '\uFEFF',
    '\uD800',
    '\uDFFF\uD800',
    '\u202Eevil',
    '💥🔥',
    '{{7*7}}',
    '${jndi:ldap://x/a}',
    '<script>alert(1)</script>',
    'NaN',
    'Infinity',
    '-0',
    'null',
    'undefined',
    '[]',
    '{}',
    ...PROTO_KEYS,
    ...SQLISH,
    ...TRAVERSAL,
  ),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.integer({ min: 65, max: 5000 }).map((n) => 'A'.repeat(n)),
);

/** A JSON value of any type but the expected one: the `wrongType(...)` of every field. */
const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.constantFrom(1.5, -1, 0, -0, 1e308, -1e308, 2 ** 53 + 2, 5e-324),
  fc.constantFrom(lit('NaN'), lit('Infinity'), lit('-Infinity')),
  nastyString,
  fc.constant([]),
  fc.constant({}),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.constantFrom('a', '__proto__', 'constructor'), fc.integer(), { maxKeys: 2 }),
  fc.integer({ min: 50, max: 20_000 }).map((n) => deep(n)),
);
const wrongType = (ok: (v: unknown) => boolean) => anyJson.filter((v) => !ok(v));

// Placeholders expanded after JSON.stringify (see expand()): literals JSON cannot carry, deep nesting, bad UTF-8.
export function lit(text: 'NaN' | 'Infinity' | '-Infinity' | 'undefined' | '-0'): string {
  return `@@LIT:${text}@@`;
}
export function deep(n: number): string {
  return `@@DEEP:${n}@@`;
}
const BAD_UTF8 = ['ff', 'c328', 'c0af', 'eda080', 'f8888080', 'e282', 'fe', 'c0'];
export const badUtf8 = fc.constantFrom(...BAD_UTF8).map((hex) => `@@BAD:${hex}@@`);

/** The JSON text of a value with the placeholders expanded into bytes. */
export function expand(value: unknown): Buffer {
  let text = JSON.stringify(value) ?? 'undefined';
  text = text.replace(/"@@LIT:([A-Za-z0-9-]+)@@"/g, '$1');
  text = text.replace(/"@@DEEP:(\d+)@@"/g, (_m, n: string) => '['.repeat(Number(n)) + ']'.repeat(Number(n)));
  const parts = text.split(/@@BAD:([0-9a-f]+)@@/);
  return Buffer.concat(parts.map((p, i) => (i % 2 === 1 ? Buffer.from(p, 'hex') : Buffer.from(p, 'utf8'))));
}

const isoTime = fc.date({ min: new Date('2020-01-01'), max: new Date('2030-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
const clientIdOk = fc.stringMatching(/^[A-Za-z0-9._:@-]{1,40}$/);
const badClientId = fc.oneof(
  fc.constantFrom('', 'a b', '../ws', 'ws;DROP', 'ws/1', 'é', 'x'.repeat(101), '\u0000', 'ws\n1'),
  nastyString.filter((s) => !/^[A-Za-z0-9._:@-]{1,100}$/.test(s)),
  wrongType((v) => typeof v === 'string'),
);
const badTime = fc.oneof(
  fc.constantFrom(
    '',
    'yesterday',
    'not-a-date-at-all',
    '2026-13-45T99:99:99Z',
    '2026-02-30T25:00:00Z',
    '0000-00-00 00:00:00',
    '99999-01-01T00:00:00Z',
  ),
  fc.constantFrom('9'.repeat(41), '2026-01-01T00:00:00Z'.repeat(3)),
  wrongType((v) => typeof v === 'string'),
);

function validValue(col: Column): fc.Arbitrary<unknown> {
  switch (col.type) {
    case 'text':
      return col.values ? fc.constantFrom(...col.values) : fc.string({ maxLength: Math.min(col.maxLength ?? 40, 40) });
    case 'integer':
      return fc.integer({ min: 0, max: 1_000_000 });
    case 'real':
      return fc.double({ min: 0, max: 1e6, noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'datetime':
      return isoTime;
    case 'json':
      return fc.constantFrom('{}', '[]', '{"a":1}', '"x"');
  }
}

/** A value this column refuses. */
function invalidValue(col: Column): fc.Arbitrary<unknown> {
  const options: fc.Arbitrary<unknown>[] = [fc.constantFrom({}, [], [1], { a: 1 }), fc.integer({ min: 2, max: 500 }).map((n) => deep(n))];
  if (!col.nullable) options.push(fc.constant(null));
  switch (col.type) {
    case 'text':
      options.push(fc.oneof(fc.integer(), fc.boolean(), fc.double({ noNaN: true, noDefaultInfinity: true })));
      if (col.maxLength !== undefined)
        options.push(fc.integer({ min: col.maxLength + 1, max: col.maxLength + 3000 }).map((n) => 'x'.repeat(n)));
      if (col.values) options.push(nastyString.filter((s) => !col.values!.includes(s)));
      break;
    case 'integer':
      options.push(fc.constantFrom(1.5, 2 ** 53, 1e300, -1e300, '7', 'NaN', true, lit('NaN'), lit('Infinity')));
      break;
    case 'real':
      options.push(fc.constantFrom('1.5', true, lit('NaN'), lit('Infinity'), lit('-Infinity')));
      break;
    case 'boolean':
      options.push(fc.constantFrom(2, -1, 0.5, 'true', 'false', 'yes', '1'));
      break;
    case 'datetime':
      options.push(
        badTime.filter(
          (v) => typeof v !== 'string' || !/^\d{4}-\d\d-\d\d[T ]\d\d:\d\d/.test(v) || v.length > 40 || /13-45|02-30|0000/.test(v),
        ),
      );
      break;
    case 'json':
      options.push(fc.constantFrom('{', '{"a":}', 'undefined', "{'a':1}", 'NaN', 5, true));
      if (col.maxLength !== undefined && col.maxLength <= 20_000) options.push(fc.constant(`"${'x'.repeat(col.maxLength)}"`));
      break;
  }
  // null is a valid value of a nullable column.
  return fc.oneof(...options).filter((v) => !(v === null && col.nullable));
}

type Change = Record<string, unknown>;
type Push = Record<string, unknown> & { changes: Change[] };

/** A push every part of which is valid: updates of rows the master holds, new rows, deletes. */
function validPush(ctx: Context): fc.Arbitrary<Push> {
  const byName = new Map(ctx.tables.map((t) => [t.name, t]));
  const update = fc.constantFrom(...ctx.rows).chain((r) => {
    const table = byName.get(r.table)!;
    const cols = table.columns;
    return fc.subarray(cols, { minLength: 1, maxLength: 3 }).chain((picked) =>
      fc.tuple(...picked.map((c) => validValue(c))).map((vals) => ({
        table: r.table,
        op: 'upsert',
        id: r.id,
        baseVersion: r.seq,
        updatedAt: new Date().toISOString(),
        values: Object.fromEntries(picked.map((c, i) => [c.name, vals[i]])),
      })),
    );
  });
  const insert = fc.constantFrom(...ctx.tables).chain((table) =>
    fc.tuple(fc.uuid(), fc.tuple(...table.columns.map((c) => validValue(c)))).map(([id, vals]) => ({
      table: table.name,
      op: 'upsert',
      id,
      baseVersion: 0,
      updatedAt: new Date().toISOString(),
      values: Object.fromEntries(table.columns.map((c, i) => [c.name, vals[i]])),
    })),
  );
  const del = fc
    .constantFrom(...ctx.rows)
    .map((r) => ({ table: r.table, op: 'delete', id: r.id, baseVersion: r.seq, updatedAt: new Date().toISOString() }));
  return fc
    .record({
      clientId: clientIdOk,
      batchId: fc.uuid(),
      changes: fc.array(fc.oneof({ weight: 3, arbitrary: update }, { weight: 3, arbitrary: insert }, { weight: 1, arbitrary: del }), {
        minLength: 1,
        maxLength: 4,
      }),
      syncId: fc.option(fc.uuid(), { nil: undefined }),
    })
    .map(({ clientId, batchId, changes, syncId }) => {
      // One change per row: a second change of a row is an invalidator of its own (DUPLICATE_ROW).
      const seen = new Set<string>();
      const unique = changes.filter((c) => !seen.has(`${c.table}\u0000${c.id}`) && !!seen.add(`${c.table}\u0000${c.id}`));
      return {
        protocolVersion: 1,
        clientId,
        batchId,
        generation: ctx.generation,
        clientTime: new Date().toISOString(),
        ...(syncId ? { syncId } : {}),
        changes: unique,
      };
    });
}

/** Invalidators that cost megabytes or deep recursion: drawn a third as often as the others. */
const HEAVY = new WeakSet<object>();
function heavy<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T> {
  HEAVY.add(arb);
  return arb;
}

type Mutation = {
  label: string;
  apply: (
    p: Push,
  ) => Push | { body: Buffer | (() => Buffer); contentType?: string | null; headers?: Record<string, string>; raw?: HostileRequest['raw'] };
};

/** Each of these alone makes a push invalid. */
function pushInvalidators(ctx: Context): fc.Arbitrary<Mutation>[] {
  const byName = new Map(ctx.tables.map((t) => [t.name, t]));
  const envelopeKeys = ['protocolVersion', 'clientId', 'batchId', 'generation', 'clientTime', 'changes'];
  const at = (i: number, p: Push) => i % p.changes.length;
  const hasChanges = (p: Push) => Array.isArray(p.changes) && p.changes.length > 0;
  const onChange = (label: string, arb: fc.Arbitrary<(c: Change, p: Push) => Change>): fc.Arbitrary<Mutation> =>
    fc.tuple(fc.nat(), arb).map(([i, f]) => ({
      label,
      // A change an earlier mutation already spoiled (not an object, unknown table) is left as it is.
      apply: (p) =>
        hasChanges(p)
          ? { ...p, changes: p.changes.map((c, j) => (j === at(i, p) && isChange(c) && byName.has(c.table as string) ? f(c, p) : c)) }
          : p,
    }));
  const tableOf = (c: Change) => byName.get(c.table as string)!;
  return [
    fc
      .constantFrom(0, 2, '1', null, true, 1.5, -1, 1e308, [1], lit('NaN'))
      .map((v) => ({ label: 'protocol-version', apply: (p) => ({ ...p, protocolVersion: v }) })),
    badClientId.map((v) => ({ label: 'client-id', apply: (p) => ({ ...p, clientId: v }) })),
    badClientId.map((v) => ({ label: 'batch-id', apply: (p) => ({ ...p, batchId: v }) })),
    fc
      .oneof(
        fc.constantFrom('', 'x'.repeat(101), 'gen-0', ctx.generation.toUpperCase() + 'x'),
        nastyString.filter((s) => s !== ctx.generation && s.length > 0 && s.length <= 100),
        wrongType((v) => typeof v === 'string'),
      )
      .filter((g) => g !== ctx.generation)
      .map((v) => ({ label: 'generation', apply: (p) => ({ ...p, generation: v }) })),
    badTime.map((v) => ({ label: 'client-time', apply: (p) => ({ ...p, clientTime: v }) })),
    fc.constantFrom(...envelopeKeys).map((k) => ({
      label: 'missing-field',
      apply: (p) => Object.fromEntries(Object.entries(p).filter(([key]) => key !== k)) as Push,
    })),
    fc
      .tuple(fc.constantFrom(...PROTO_KEYS, ...SQLISH, 'tables', 'user', 'role', 'updated_by', '$where'), anyJson)
      .map(([k, v]) => ({ label: 'unknown-envelope-key', apply: (p) => withKey(p, k, v) })),
    wrongType((v) => Array.isArray(v)).map((v) => ({ label: 'changes-not-array', apply: (p) => ({ ...p, changes: v as Change[] }) })),
    heavy(
      fc.constantFrom(5001, 5002, 6000).map((n) => ({
        label: 'oversized-batch',
        apply: (p) => ({
          ...p,
          changes: Array.from({ length: n }, (_, i) => ({
            table: ctx.tables[0].name,
            op: 'delete',
            id: `big-${i}`,
            baseVersion: 0,
            updatedAt: '2026-01-01T00:00:00Z',
          })),
        }),
      })),
    ),
    onChange(
      'unknown-table',
      fc
        .oneof(
          fc.constantFrom(...PROTO_KEYS, ...SQLISH, 'users', 'sync_batches', 'sqlite_sequence', 'Customers', 'customers '),
          nastyString,
        )
        .filter((t) => !byName.has(t))
        .map((t) => (c) => ({ ...c, table: t })),
    ),
    onChange(
      'table-wrong-type',
      wrongType((v) => typeof v === 'string').map((t) => (c) => ({ ...c, table: t })),
    ),
    onChange(
      'op',
      fc
        .oneof(fc.constantFrom('insert', 'update', 'UPSERT', 'Delete', 'drop', '', 'upsert ', 'delete\u0000'), anyJson)
        .filter((o) => o !== 'upsert' && o !== 'delete')
        .map((o) => (c) => ({ ...c, op: o })),
    ),
    onChange(
      'id',
      fc
        .oneof(
          fc.constantFrom('', 'x'.repeat(65), 'x'.repeat(10_000)),
          wrongType((v) => typeof v === 'string'),
        )
        .map((v) => (c) => ({ ...c, id: v })),
    ),
    onChange(
      'base-version',
      fc
        .constantFrom(-1, -5, 1.5, '3', null, true, 1e300, 2 ** 53 + 2, -(2 ** 53), lit('NaN'), lit('Infinity'), [], {})
        .map((v) => (c) => ({ ...c, baseVersion: v })),
    ),
    onChange(
      'updated-at',
      badTime.map((v) => (c) => ({ ...c, updatedAt: v })),
    ),
    onChange(
      'unknown-column',
      fc
        .tuple(
          fc.oneof(fc.constantFrom(...PROTO_KEYS, ...SQLISH, 'Name', 'name ', 'password_hash'), nastyString),
          fc.oneof(validValue({ name: 'x', type: 'text', nullable: true }), anyJson),
        )
        .filter(([k]) => !SERVER_COLUMNS.includes(k))
        .map(
          ([k, v]) =>
            (c: Change) =>
              tableOf(c).columns.some((col) => col.name === k)
                ? { ...c, op: 'upsert', values: { ...(c.values as object), [k]: {} } }
                : { ...c, op: 'upsert', values: withKey((c.values as object) ?? {}, k, v) },
        ),
    ),
    onChange(
      'proto-column',
      fc
        .tuple(fc.constantFrom<unknown>('x', 1, null, { name: 'evil' }, [], { deleted: 1 }), fc.boolean())
        .map(([value, inBase]) => (c: Change) => ({
          ...c,
          op: 'upsert',
          values: inBase ? (c.values ?? { [tableOf(c).columns[0].name]: null }) : withKey((c.values as object) ?? {}, '__proto__', value),
          ...(inBase ? { base: withKey({}, '__proto__', value) } : {}),
        })),
    ),
    onChange(
      'server-owned-column',
      fc
        .tuple(fc.constantFrom(...SERVER_COLUMNS), anyJson)
        .map(([k, v]) => (c: Change) => ({ ...c, op: 'upsert', values: { ...(c.values as object), [k]: v } })),
    ),
    onChange(
      'bad-value',
      fc
        .tuple(...ctx.tables.map((t) => fc.constantFrom(...t.columns).chain((col) => invalidValue(col).map((v) => ({ col: col.name, v })))))
        .map((perTable) => (c: Change) => {
          const { col, v } = perTable[ctx.tables.findIndex((t) => t.name === c.table)];
          return { ...c, op: 'upsert', values: { ...(c.values as object), [col]: v } };
        }),
    ),
    onChange(
      'values-wrong-shape',
      fc.constantFrom(null, 'values', 5, [], [['name', 'x']], true).map((v) => (c: Change) => ({ ...c, op: 'upsert', values: v })),
    ),
    onChange(
      'upsert-without-values',
      fc.constant((c: Change) => {
        const { values: _v, ...rest } = c;
        return { ...rest, op: 'upsert' };
      }),
    ),
    onChange(
      'delete-with-values',
      fc.constant((c: Change) => ({ ...c, op: 'delete', values: { [tableOf(c).columns[0].name]: null } })),
    ),
    onChange(
      'changed-not-in-values',
      fc.constantFrom(...PROTO_KEYS, 'nope', '', 'id', 'updated_at').map((name) => (c: Change) => {
        const values = isChange(c.values) ? c.values : {};
        const first = tableOf(c).columns.find((col) => !(col.name in values))?.name;
        return { ...c, op: 'upsert', values, changed: [...Object.keys(values), name === 'nope' && first ? first : name] };
      }),
    ),
    onChange(
      'changed-wrong-shape',
      fc
        .oneof(
          wrongType((v) => Array.isArray(v)),
          fc.constant(Array.from({ length: 201 }, (_, i) => `c${i}`)),
          fc.constant([1, 2]),
          fc.constant(['x'.repeat(65)]),
        )
        .map((v) => (c: Change) => ({ ...c, changed: v })),
    ),
    onChange(
      'base-unknown-column',
      fc
        .oneof(
          fc.constantFrom('nope', 'constructor', 'toString', 'updated_by', 'server_seq'),
          nastyString.filter((s) => s !== '__proto__'),
        )
        .map((k) => (c: Change) => {
          const table = tableOf(c);
          return table.columns.some((col) => col.name === k) ? { ...c, base: { [k]: {} } } : { ...c, base: { [k]: 'x' } };
        }),
    ),
    onChange(
      'restore-wrong-type',
      fc.constantFrom('true', 1, 0, null, 'yes', [], {}).map((v) => (c: Change) => ({ ...c, restore: v })),
    ),
    onChange(
      'unknown-change-key',
      fc.tuple(fc.constantFrom(...PROTO_KEYS, 'seq', 'user', 'updated_by', 'deleted', 'sql'), anyJson).map(
        ([k, v]) =>
          (c: Change) =>
            withKey(c, k, v),
      ),
    ),
    fc.nat().map((i) => ({
      label: 'duplicate-row',
      apply: (p: Push) => {
        if (!hasChanges(p)) return p;
        const c = p.changes[at(i, p)];
        return { ...p, changes: [...p.changes, { ...c }] };
      },
    })),
    fc.nat().map((i) => ({
      label: 'new-row-missing-required',
      apply: (p: Push) => {
        if (!hasChanges(p)) return p;
        const withRequired = ctx.tables.filter((t) => t.columns.some((c) => !c.nullable));
        const table = withRequired[i % withRequired.length];
        const optional = table.columns.find((c) => c.nullable);
        return {
          ...p,
          changes: [
            ...p.changes,
            {
              table: table.name,
              op: 'upsert',
              id: `missing-required-${i}`,
              baseVersion: 0,
              updatedAt: '2026-01-01T00:00:00Z',
              values: optional ? { [optional.name]: null } : {},
            },
          ],
        };
      },
    })),
    fc.nat().map((i) => ({
      label: 'change-not-object',
      apply: (p: Push) =>
        hasChanges(p)
          ? { ...p, changes: [...p.changes.slice(0, i % (p.changes.length + 1)), (['x', 5, null, [], true] as unknown as Change[])[i % 5]] }
          : p,
    })),
    // Not JSON at all, or not the JSON declared.
    fc.nat().map((n) => ({
      label: 'truncated-json',
      apply: (p: Push) => {
        const full = expand(p);
        return { body: full.subarray(0, 1 + (n % (full.length - 1))) };
      },
    })),
    fc
      .constantFrom(
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
        'text/json',
        'application/jsonx',
        'json',
        '*/*',
        'application/octet-stream',
        '',
      )
      .map((type) => ({ label: 'wrong-content-type', apply: (p: Push) => ({ body: expand(p), contentType: type === '' ? null : type }) })),
    fc
      .constantFrom(
        'application/json; charset=latin1',
        'application/json; charset=utf-16',
        'application/json; charset=ebcdic',
        'application/json; charset=x-unknown',
      )
      .map((type) => ({ label: 'wrong-charset', apply: (p: Push) => ({ body: expand(p), contentType: type }) })),
    fc.constantFrom('gzip', 'deflate', 'br', 'compress', 'identity, gzip', 'x-evil').map((enc) => ({
      label: 'wrong-content-encoding',
      apply: (p: Push) => ({ body: expand(p), headers: { 'Content-Encoding': enc } }),
    })),
    fc
      .constantFrom(
        '{"protocolVersion": 1,}',
        '{protocolVersion: 1}',
        "{'a': 1}",
        '{"a": 01}',
        '{"a": .5}',
        '{"a": 1e}',
        '{"a": "\\x41"}',
        '{"a": "\u0001"}',
        '{"a":1}{"b":2}',
        '\uFEFF{"a": 1}',
        '[',
        '"',
        'tru',
        'NaN',
        '{"a": NaN}',
        '{"a": Infinity}',
        '{"a": -Infinity}',
        '{"a": undefined}',
        '/* c */ {}',
        '{"__proto__": {"isAdmin": true}',
      )
      .map((text) => ({ label: 'malformed-json', apply: () => ({ body: Buffer.from(text, 'utf8') }) })),
    // A body that says it is larger than the server takes (5 MB): refused before it is read.
    fc.integer({ min: 1, max: 100 * 1024 * 1024 }).map((k) => ({
      label: 'overlong-body',
      apply: (p: Push) => {
        const head = expand(p).subarray(0, 4096);
        return {
          body: head,
          raw: {
            headerLines: [Buffer.from('Content-Type: application/json')],
            body: head,
            declaredLength: 5 * 1024 * 1024 + k,
            // The rest never comes: the answer must not wait for it.
            halfClose: false,
          },
        };
      },
    })),
    heavy(
      fc.integer({ min: 1000, max: 120_000 }).map((n) => ({
        label: 'deep-nesting',
        apply: () => ({ body: () => Buffer.from('['.repeat(n) + ']'.repeat(n)) }),
      })),
    ),
    heavy(
      fc.integer({ min: 1000, max: 60_000 }).map((n) => ({
        label: 'deep-nesting-in-field',
        apply: (p: Push) => ({ body: () => expand({ ...p, changes: [...(Array.isArray(p.changes) ? p.changes : []), deep(n)] }) }),
      })),
    ),
  ];
}

/** Things that never make a push valid or invalid on their own. */
function pushNoise(ctx: Context): fc.Arbitrary<(p: Push) => Push> {
  const freeText = new Map(ctx.tables.map((t) => [t.name, t.columns.filter((c) => c.type === 'text' && !c.values).map((c) => c.name)]));
  const inTextValues = (p: Push, f: (v: string) => string) =>
    Array.isArray(p.changes)
      ? {
          ...p,
          changes: p.changes.map((c) => {
            if (!isChange(c) || !c.values || typeof c.values !== 'object') return c;
            const values = { ...(c.values as Record<string, unknown>) };
            const col = (freeText.get(c.table as string) ?? []).find((name) => typeof values[name] === 'string');
            if (col) values[col] = f(values[col] as string);
            return { ...c, values };
          }),
        }
      : p;
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant((p: Push) => p) },
    // Invalid UTF-8 inside a text value: decoded as U+FFFD.
    badUtf8.map((bad) => (p: Push) => inTextValues(p, (v) => `${v.slice(0, 10)}${bad}`)),
    // -0 where 0 is expected.
    fc.constant((p: Push) =>
      Array.isArray(p.changes)
        ? { ...p, changes: p.changes.map((c) => (isChange(c) && c.baseVersion === 0 ? { ...c, baseVersion: lit('-0') } : c)) }
        : p,
    ),
    // SQL-looking and odd text inside values: data, never code.
    fc.constantFrom(...SQLISH, '\u0000', '<b>', '%s%s%n').map((t) => (p: Push) => inTextValues(p, () => t)),
  );
}

function isChange(c: unknown): c is Change {
  return typeof c === 'object' && c !== null && !Array.isArray(c);
}

function withKey<T extends object>(o: T, key: string, value: unknown): T {
  const copy = { ...o } as Record<string, unknown>;
  Object.defineProperty(copy, key, { value, enumerable: true, configurable: true, writable: true });
  return copy as T;
}

const syncCallers = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom<Caller>('user', 'user', 'manager', 'admin') },
  { weight: 1, arbitrary: fc.constantFrom<Caller>('managerSession', 'adminSession') },
);

export function pushRequest(ctx: Context): fc.Arbitrary<HostileRequest> {
  const invalidators = pushInvalidators(ctx);
  const refusedAnyway = fc
    .tuple(validPush(ctx), fc.constantFrom<Caller>(...REFUSED_CALLERS, 'adminSessionNoCsrf', 'adminSessionBadOrigin'))
    .map(([p, as]): HostileRequest => ({
      group: 'push',
      label: `push:valid-but-${as}`,
      method: 'POST',
      path: '/api/v1/sync/push',
      as,
      json: p,
    }));
  const invalid = fc
    .tuple(
      validPush(ctx),
      fc.array(fc.oneof(...invalidators.map((arbitrary) => ({ arbitrary, weight: HEAVY.has(arbitrary) ? 1 : 3 }))), {
        minLength: 1,
        maxLength: 2,
      }),
      pushNoise(ctx),
      syncCallers,
    )
    .map(([p, mutations, noise, as]): HostileRequest => {
      let current: Push = noise(p);
      for (const m of mutations) {
        const next = m.apply(current);
        if (!('changes' in next) && 'body' in next) {
          return {
            group: 'push',
            label: `push:${m.label}`,
            method: 'POST',
            path: '/api/v1/sync/push',
            as,
            body: next.body,
            contentType: next.contentType,
            headers: next.headers,
            raw: next.raw,
          };
        }
        current = next as Push;
      }
      return {
        group: 'push',
        label: `push:${mutations.map((m) => m.label).join('+')}`,
        method: 'POST',
        path: '/api/v1/sync/push',
        as,
        json: current,
      };
    });
  // A body over the 5 MB limit that never says its size (chunked): counted as it arrives. Rare: it costs 5 MB each.
  const streamedOverlong = fc.tuple(validPush(ctx), fc.integer({ min: 1, max: 200_000 })).map(([p, k]): HostileRequest => ({
    group: 'push',
    label: 'push:overlong-body-chunked',
    method: 'POST',
    path: '/api/v1/sync/push',
    as: 'user',
    body: () => Buffer.concat([expand(p).subarray(0, -1), Buffer.from(`,"pad":"${'x'.repeat(5 * 1024 * 1024 + k)}"}`)]),
    chunked: true,
  }));
  return fc.oneof(
    { weight: 240, arbitrary: invalid },
    { weight: 20, arbitrary: refusedAnyway },
    { weight: 1, arbitrary: streamedOverlong },
  );
}

export function pullRequest(ctx: Context): fc.Arbitrary<HostileRequest> {
  const valid = fc.record({
    generation: fc.constant(ctx.generation),
    clientId: clientIdOk,
    cursor: fc.integer({ min: 0, max: ctx.lastSeq }).map(String),
  });
  type Q = [string, string][];
  const toQ = (o: Record<string, string>): Q => Object.entries(o);
  const set = (q: Q, k: string, v: string): Q => [...q.filter(([key]) => key !== k), [k, v]];
  const invalidators: fc.Arbitrary<{ label: string; f: (q: Q) => Q }>[] = [
    fc
      .constantFrom(
        '-1',
        '1.5',
        'abc',
        '',
        '1e999',
        'Infinity',
        '-Infinity',
        'NaN',
        '--1',
        '1,2',
        '[]',
        '{}',
        '99999999999999999999999',
        "0' OR 1=1 --",
        '%00',
      )
      .map((v) => ({ label: 'cursor', f: (q) => set(q, 'cursor', v) })),
    fc
      .integer({ min: 1, max: 1e9 })
      .map((d) => ({ label: 'cursor-beyond', f: (q) => set(set(q, 'cursor', String(ctx.lastSeq + d)), 'until', String(ctx.lastSeq)) })),
    fc
      .oneof(
        fc.integer({ min: 1, max: 1e12 }).map((d) => String(ctx.lastSeq + d)),
        fc.constantFrom('-1', 'x', '1.5', 'NaN'),
      )
      .map((v) => ({ label: 'until', f: (q) => set(q, 'until', v) })),
    fc
      .constantFrom('0', '-1', '5001', '1000000', 'abc', '1.5', 'NaN', '', 'Infinity')
      .map((v) => ({ label: 'limit', f: (q) => set(q, 'limit', v) })),
    fc
      .tuple(
        fc.constantFrom('tables', 'table', '__proto__', 'constructor', 'toString', 'where', 'order', 'user', 'cursor[]', 'limit[]'),
        fc.oneof(nastyString, fc.constant('customers')),
      )
      .map(([k, v]) => ({ label: 'unknown-param', f: (q) => [...q, [k, v]] as Q })),
    fc.constantFrom('cursor', 'limit', 'generation', 'clientId').map((k) => ({
      label: 'duplicate-param',
      // The key twice (an array to the server), whether or not it was there before.
      f: (q) => {
        const v = q.find(([key]) => key === k)?.[1] ?? '1';
        return [...q.filter(([key]) => key !== k), [k, v], [k, v]] as Q;
      },
    })),
    fc
      .oneof(
        fc.constantFrom('', 'x'.repeat(101), 'gen-0'),
        nastyString.filter((s) => s !== ctx.generation && s.length > 0),
      )
      .map((v) => ({ label: 'generation', f: (q) => set(q, 'generation', v) })),
    badClientId.filter((v) => typeof v === 'string').map((v) => ({ label: 'client-id', f: (q) => set(q, 'clientId', v as string) })),
    fc.constantFrom('generation', 'clientId', 'cursor').map((k) => ({ label: 'missing-param', f: (q) => q.filter(([key]) => key !== k) })),
    fc.constant({ label: 'sync-id-too-long', f: (q: Q) => set(q, 'syncId', 'x'.repeat(101)) }),
  ];
  const encode = (q: Q, raw: boolean) => q.map(([k, v]) => (raw ? `${k}=${v}` : `${percent(k)}=${percent(v)}`)).join('&');
  const invalid = fc
    .tuple(
      valid,
      fc.array(fc.oneof(...invalidators), { minLength: 1, maxLength: 2 }),
      fc.constantFrom<Caller>('user', 'user', 'manager', 'admin', 'managerSession'),
      fc.boolean(),
    )
    .map(([v, inv, as, raw]): HostileRequest => {
      let q = toQ(v);
      for (const i of inv) q = i.f(q);
      // Raw query text (not percent-encoded) only when it is plain ASCII node:http can send and
      // means what it says (no # & = + % ? inside a name or value).
      const plain = q.every(([k, v]) => /^[\x21-\x7e]*$/.test(`${k}${v}`) && !/[#&=+%?]/.test(`${k}${v}`));
      const text = encode(q, raw && plain);
      return { group: 'pull', label: `pull:${inv.map((i) => i.label).join('+')}`, method: 'GET', path: `/api/v1/sync/pull?${text}`, as };
    });
  const refused = fc.tuple(valid, fc.constantFrom<Caller>(...REFUSED_CALLERS)).map(([v, as]): HostileRequest => ({
    group: 'pull',
    label: `pull:valid-but-${as}`,
    method: 'GET',
    path: `/api/v1/sync/pull?${encode(toQ(v), false)}`,
    as,
  }));
  const badPercent = fc.constantFrom('%', '%E0%A4%A', '%ZZ', '%00', '%C0%AF', '%uD800').map((bad): HostileRequest => ({
    group: 'pull',
    label: 'pull:bad-percent-encoding',
    method: 'GET',
    path: `/api/v1/sync/pull?generation=${bad}&clientId=ws-1&cursor=${bad}`,
    as: 'user',
  }));
  return fc.oneof({ weight: 10, arbitrary: invalid }, { weight: 2, arbitrary: refused }, { weight: 1, arbitrary: badPercent });
}

const NUMBER_KINDS = ['quote', 'project'];
const badKind = fc
  .oneof(
    fc.constantFrom(
      'Quote',
      'quotes',
      'QUOTE',
      'invoice',
      ' quote',
      'quote%00',
      '..%2F..%2Fhub',
      '%2e%2e',
      ...PROTO_KEYS.filter((k) => k !== '__proto__'),
      '__proto__',
    ),
    nastyString,
  )
  .filter((k) => !NUMBER_KINDS.includes(k) && k.length > 0);

/** encodeURIComponent, also for lone surrogates (sent as the UTF-8 of U+FFFD, as a browser would). */
export function percent(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  }
}

function pathSegment(s: string): string {
  // Already percent-encoded traversal stays as sent; everything else is encoded.
  return /%[0-9a-fA-F]{2}/.test(s) ? s.replace(/[^\x21-\x7e]/g, percent).replace(/[/?#]/g, percent) : percent(s);
}

export function numbersRequest(): fc.Arbitrary<HostileRequest> {
  const kind = fc.constantFrom(...NUMBER_KINDS);
  const callers = fc.constantFrom<Caller>('user', 'manager', 'admin');
  const badAllocateBody = fc.oneof(
    fc
      .tuple(fc.constantFrom(...PROTO_KEYS.filter((k) => k !== '__proto__'), 'count', 'kind', 'number', 'sequence', 'year'), anyJson)
      .map(([k, v]) => withKey({}, k, v)),
    badClientId.map((v) => ({ clientId: v })),
    fc.constantFrom([], 'quote', 5, true, null),
  );
  const badCount = fc.oneof(
    fc.constantFrom(0, -1, 501, 1e9, 1.5, '5', null, true, [], {}, 2 ** 53 + 1, lit('NaN'), lit('Infinity'), -0.5),
    anyJson.filter((v) => !(typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 500)),
  );
  const badFormat = fc.oneof(
    fc.constantFrom(
      '',
      'Q',
      'Q{YYYY}',
      'Q{SEQ}{SEQ:2}',
      'Q{SEQ:0}',
      'Q{SEQ:10}',
      'Q-{SEQ:4}-' + 'x'.repeat(40),
      'Q{YYYYY}-{SEQ}',
      'Q {SEQ:4}',
      'Q;{SEQ:4}',

      'Q{SEQ:4}{',
      '{SEQ:4}}',
      '<{SEQ}>',
      'Q{{SEQ}}',
    ),
    wrongType((v) => typeof v === 'string'),
  );
  return fc.oneof(
    fc.tuple(badKind, fc.option(fc.constant({}), { nil: undefined }), callers).map(([k, body, as]) => ({
      group: 'numbers' as const,
      label: 'numbers:bad-kind',
      method: 'POST',
      path: `/api/v1/numbers/${pathSegment(k)}`,
      as,
      json: body,
    })),
    fc.tuple(kind, badAllocateBody, callers).map(([k, body, as]) => ({
      group: 'numbers' as const,
      label: 'numbers:bad-allocate-body',
      method: 'POST',
      path: `/api/v1/numbers/${k}`,
      as,
      json: body,
    })),
    fc
      .tuple(kind, fc.constantFrom('{"clientId": "ws-1"', '{"count": 5,}', '{"count": NaN}', '{"count": 1e999999}', 'null null'), callers)
      .map(([k, text, as]) => ({
        group: 'numbers' as const,
        label: 'numbers:malformed-body',
        method: 'POST',
        path: `/api/v1/numbers/${k}`,
        as,
        body: Buffer.from(text),
      })),
    fc.tuple(fc.oneof(kind, badKind), badCount, fc.option(clientIdOk, { nil: undefined }), callers).map(([k, count, clientId, as]) => ({
      group: 'numbers' as const,
      label: 'numbers:bad-reserve',
      method: 'POST',
      path: `/api/v1/numbers/${pathSegment(k)}/reserve`,
      as,
      json: { count, ...(clientId ? { clientId } : {}) },
    })),
    fc
      .tuple(
        kind,
        fc.integer({ min: 1, max: 500 }),
        callers,
        fc.constantFrom(...PROTO_KEYS.filter((k) => k !== '__proto__'), 'force', 'year'),
      )
      .map(([k, count, as, extra]) => ({
        group: 'numbers' as const,
        label: 'numbers:reserve-extra-key',
        method: 'POST',
        path: `/api/v1/numbers/${k}/reserve`,
        as,
        json: withKey({ count }, extra, 1),
      })),
    fc.tuple(fc.oneof(kind, badKind), badFormat, fc.constantFrom<Caller>('admin', 'adminSession')).map(([k, format, as]) => ({
      group: 'numbers' as const,
      label: 'numbers:bad-format',
      method: 'PUT',
      path: `/api/v1/numbers/${pathSegment(k)}/format`,
      as,
      json: { format },
    })),
    fc
      .tuple(
        kind,
        fc.constantFrom<Caller>('user', 'manager', 'managerSession', 'adminSessionNoCsrf', 'adminSessionBadOrigin', ...REFUSED_CALLERS),
      )
      .map(([k, as]) => ({
        group: 'numbers' as const,
        label: `numbers:format-by-${as}`,
        method: 'PUT',
        path: `/api/v1/numbers/${k}/format`,
        as,
        json: { format: 'H{YYYY}-{SEQ:5}' },
      })),
    fc.tuple(kind, fc.constantFrom<Caller>(...REFUSED_CALLERS)).map(([k, as]) => ({
      group: 'numbers' as const,
      label: `numbers:allocate-by-${as}`,
      method: 'POST',
      path: `/api/v1/numbers/${k}`,
      as,
      json: {},
    })),
    fc
      .tuple(
        fc.oneof(
          badKind.map((k) => `kind=${percent(k)}`),
          fc.constantFrom(
            'limit=0',
            'limit=1001',
            'limit=abc',
            'limit=-1',
            'limit=1.5',
            'kind=quote&kind=project',
            'sort=desc',
            '__proto__=1',
            'constructor=1',
          ),
        ),
        callers,
      )
      .map(([q, as]) => ({ group: 'numbers' as const, label: 'numbers:bad-list-query', method: 'GET', path: `/api/v1/numbers?${q}`, as })),
  );
}

export function authRequest(ctx: Context): fc.Arbitrary<HostileRequest> {
  const notSecret = (s: unknown) => typeof s !== 'string' || !ctx.secrets.includes(s);
  const oddUsername = fc.oneof(
    fc.constantFrom(
      'admin',
      'ADMIN',
      'admin ',
      ' admin',
      'admin\u0000',
      "admin' --",
      "' OR '1'='1",
      'admin"#',
      '*',
      '%',
      '_',
      ...ctx.usernames,
    ),
    nastyString.filter((s) => s.length >= 1 && s.length <= 64),
  );
  const oddPassword = fc
    .oneof(
      fc.constantFrom("' OR '1'='1", 'password', '', '\u0000', 'x'.repeat(200)),
      nastyString.filter((s) => s.length >= 1 && s.length <= 200),
    )
    .filter(notSecret);
  const login = (label: string, json: unknown, extra: Partial<HostileRequest> = {}): HostileRequest => ({
    group: 'auth',
    label: `auth:${label}`,
    method: 'POST',
    path: '/api/v1/auth/login',
    as: 'anonymous',
    json,
    ...extra,
  });
  const loginKeys = ['username', 'password'];
  return fc.oneof(
    // Well-formed sign-ins with wrong credentials (401, then 429 once the address is over its limit).
    {
      weight: 2,
      arbitrary: fc.tuple(oddUsername, oddPassword).map(([username, password]) => login('wrong-credentials', { username, password })),
    },
    {
      weight: 3,
      arbitrary: fc
        .oneof(
          fc.record({ username: wrongType((v) => typeof v === 'string'), password: fc.constant('x') }),
          fc.record({ username: fc.constant('admin'), password: wrongType((v) => typeof v === 'string') }),
          fc.record({ username: fc.constant('admin') }),
          fc.record({ password: fc.constant('secret-password') }),
          fc.constant({}),
          fc.record({ username: fc.constant('x'.repeat(65)), password: fc.constant('x') }),
          fc.record({ username: fc.constant('admin'), password: fc.constant('x'.repeat(201)) }),
          fc
            .tuple(fc.constantFrom(...PROTO_KEYS.filter((k) => k !== '__proto__'), 'role', 'isAdmin', 'totp'), anyJson)
            .map(([k, v]) => withKey({ username: 'admin', password: 'x' }, k, v)),
          fc.constantFrom(null, [], 'admin', 5, true, [{ username: 'admin', password: 'x' }]),
        )
        .map((json) => login('bad-body', json)),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(
          '{"username":"admin","password":',
          '{"username":"admin","password":"x"',
          'username=admin&password=x',
          '{"username":"admin","password":"x","username":"other"',
          '\u0000',
          '{"username": NaN, "password": Infinity}',
        )
        .map((text) => login('malformed-body', undefined, { body: Buffer.from(text) })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom(
            'text/plain',
            'application/x-www-form-urlencoded',
            'multipart/form-data',
            'application/xml',
            'application/json; charset=utf-16',
          ),
          oddPassword,
        )
        .map(([type, password]) => login('wrong-content-type', { username: 'admin', password }, { contentType: type })),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(badUtf8, badUtf8).map(([a, b]) => login('invalid-utf8', { username: `ad${a}min`, password: `pw${b}` })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(...loginKeys)
        .map((k) => login('login-with-credentials-of-nobody', { username: `nobody-${k}`, password: 'not-the-password-1' })),
    },
    // Bad cookies and bearer tokens on routes that need a caller.
    {
      weight: 3,
      arbitrary: fc
        .tuple(
          fc.oneof(
            fc.constantFrom(
              'cacpq_session=',
              'cacpq_session=j:{"a":1}',
              'cacpq_session=j:["a"]',
              'cacpq_session=%E0%A4%A',
              'cacpq_session=s:abc.def',
              'cacpq_session=' + 'a'.repeat(4000),
              'cacpq_session=a; cacpq_session=b',
              'cacpq_session="quoted"',
              '=; =; ;;',
              'cacpq_session=__proto__',
              'constructor=1; cacpq_session=toString',
            ),
            fc.string({ unit: 'grapheme-ascii', maxLength: 80 }).map((s) => `cacpq_session=${percent(s)}`),
            fc.uuid().map((u) => `cacpq_session=${u}; cacpq_csrf=${u}`),
          ),
          fc.constantFrom(
            '/api/v1/auth/me',
            '/api/v1/sync/info',
            '/api/v1/users',
            '/api/v1/settings',
            '/api/v1/backups',
            '/api/v1/conflicts',
          ),
        )
        .map(([cookie, path]) => ({
          group: 'auth' as const,
          label: 'auth:bad-cookie',
          method: 'GET',
          path,
          as: 'anonymous' as const,
          headers: { Cookie: cookie },
        })),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(
          fc.oneof(
            fc.constantFrom(
              'Bearer',
              'Bearer ',
              'Bearer  ',
              'Basic YWRtaW46YWRtaW4=',
              'Token abc',
              'bearer cacpq_',
              'Bearer cacpq_' + 'a'.repeat(6000),
              'Bearer a b',
              'Bearer null',
              'Bearer undefined',
              'Bearer [object Object]',
              'Bearer cacpq_../../hub',
              'Digest x',
              'Bearer\tcacpq_x',
            ),
            fc.string({ unit: 'grapheme-ascii', maxLength: 80 }).map((s) => `Bearer cacpq_${s.replace(/[^\x21-\x7e]/g, '')}`),
            fc.base64String({ maxLength: 60 }).map((s) => `Bearer ${s}`),
          ),
          fc.constantFrom('/api/v1/auth/me', '/api/v1/sync/info', '/api/v1/users', '/api/v1/numbers', '/api/v1/sync/snapshot'),
        )
        .map(([auth, path]) => ({
          group: 'auth' as const,
          label: 'auth:bad-bearer',
          method: 'GET',
          path,
          as: 'anonymous' as const,
          headers: { Authorization: auth },
        })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom<Caller>('revoked', 'disabled')
        .chain((as) =>
          fc
            .constantFrom('/api/v1/auth/me', '/api/v1/sync/info', '/api/v1/numbers')
            .map((path) => ({ group: 'auth' as const, label: `auth:${as}-token`, method: 'GET', path, as })),
        ),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          oddPassword,
          fc.oneof(
            fc.constant('a-new-password-123'),
            fc.constant('short'),
            wrongType((v) => typeof v === 'string'),
          ),
          fc.constantFrom<Caller>('managerSession', 'adminSession', 'adminSessionNoCsrf', 'user', 'anonymous'),
        )
        .map(([currentPassword, newPassword, as]) => ({
          group: 'auth' as const,
          label: 'auth:change-password',
          method: 'POST',
          path: '/api/v1/auth/password',
          as,
          json: { currentPassword, newPassword },
        })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom<Caller>('adminSessionNoCsrf', 'adminSessionBadOrigin', 'anonymous', 'bogusToken')
        .map((as) => ({ group: 'auth' as const, label: `auth:logout-by-${as}`, method: 'POST', path: '/api/v1/auth/logout', as })),
    },
    // Broken HTTP: header values node:http will not send, oversized headers, half-sent bodies.
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(
          Buffer.from('Authorization: Bearer cacpq_\u00e9\u00e8'),
          Buffer.from([
            0x41, 0x75, 0x74, 0x68, 0x6f, 0x72, 0x69, 0x7a, 0x61, 0x74, 0x69, 0x6f, 0x6e, 0x3a, 0x20, 0x42, 0x65, 0x61, 0x72, 0x65, 0x72,
            0x20, 0xff, 0xfe,
          ]),
          Buffer.from('Cookie: cacpq_session=\u0001\u0002'),
          Buffer.from('X-CSRF-Token: \u00ff'),
        )
        .map((line) => ({
          group: 'auth' as const,
          label: 'auth:raw-bad-header',
          method: 'GET',
          path: '/api/v1/auth/me',
          as: 'anonymous' as const,
          raw: { headerLines: [line] },
          plain: true,
          mayClose: true,
        })),
    },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 17_000, max: 70_000 }).map((n) => ({
        group: 'auth' as const,
        label: 'auth:raw-oversized-header',
        method: 'GET',
        path: '/api/v1/auth/me',
        as: 'anonymous' as const,
        raw: { headerLines: [Buffer.from(`Cookie: cacpq_session=${'a'.repeat(n)}`)] },
        plain: true,
        mayClose: true,
      })),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.integer({ min: 2, max: 40 }), oddPassword).map(([cut, password]) => {
        const body = Buffer.from(JSON.stringify({ username: 'admin', password }));
        return {
          group: 'auth' as const,
          label: 'auth:raw-body-cut-off',
          // Node's HTTP parser answers a body cut off by the client with its own bare 400.
          plain: true,
          method: 'POST',
          path: '/api/v1/auth/login',
          as: 'anonymous' as const,
          raw: {
            headerLines: [Buffer.from('Content-Type: application/json')],
            body: body.subarray(0, Math.max(1, body.length - cut)),
            declaredLength: body.length,
            halfClose: true,
          },
          mayClose: true,
        };
      }),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(
          'GET /api/v1/auth/me HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6',
          'GET /api/v1/auth/me HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3',
          'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n{}\r\n0',
          'GET /api/../../etc/passwd HTTP/1.1\r\nHost: x',
          'GET /api/v1/auth/me HTTP/9.9\r\nHost: x',
          'G\u0000ET /api/health HTTP/1.1\r\nHost: x',
          'GET /api/v1/auth/me\u0000 HTTP/1.1\r\nHost: x',
        )
        .map((head) => ({
          group: 'auth' as const,
          label: 'auth:raw-broken-http',
          method: 'RAW',
          path: head.split(' ')[1] ?? '/',
          as: 'anonymous' as const,
          raw: { requestLine: Buffer.from(head, 'latin1'), headerLines: [] },
          plain: true,
          mayClose: true,
        })),
    },
  );
}

export function adminRequest(ctx: Context): fc.Arbitrary<HostileRequest> {
  const admins = fc.constantFrom<Caller>('admin', 'adminSession');
  const notAdmins = fc.constantFrom<Caller>(
    'user',
    'manager',
    'managerSession',
    'adminSessionNoCsrf',
    'adminSessionBadOrigin',
    ...REFUSED_CALLERS,
  );
  const r = (label: string, method: string, path: string, as: Caller, json?: unknown): HostileRequest => ({
    group: 'admin',
    label: `admin:${label}`,
    method,
    path,
    as,
    json,
  });
  const badId = fc
    .oneof(
      fc.constantFrom(
        '0',
        '-1',
        '1.5',
        'abc',
        '1e999',
        'NaN',
        'Infinity',
        '..',
        '%2e%2e',
        '..%2F..%2Fhub%2Fhub.db',
        '%2e%2e%2f%2e%2e%2fhub',
        '1%00',
        '1;DROP TABLE backups',
        "1' OR '1'='1",
        '99999999999999999999',
        '__proto__',
        'constructor',
        '%20',
        '1,2',
      ),
      fc.integer({ min: 100_000, max: 2 ** 31 }).map(String),
    )
    .map(pathSegment);
  const validUserBody = fc.record({
    username: fc.stringMatching(/^[a-z][a-z0-9]{2,10}$/),
    role: fc.constantFrom('admin', 'manager', 'user'),
    password: fc.constant('a-valid-password-1'),
  });
  const badUserBody = fc.oneof(
    validUserBody.chain((b) =>
      fc
        .constantFrom<keyof typeof b>('username', 'role', 'password')
        .chain((k) =>
          anyJson
            .filter((v) =>
              k === 'password'
                ? typeof v !== 'string' || v.length < 10 || v.length > 200
                : k === 'role'
                  ? !['admin', 'manager', 'user'].includes(v as string)
                  : typeof v !== 'string' || !USERNAME.test(v),
            )
            .map((v) => ({ ...b, [k]: v })),
        ),
    ),
    validUserBody.map((b) => ({ ...b, role: 'root' })),
    validUserBody.chain((b) =>
      fc
        .constantFrom(...TRAVERSAL, ...SQLISH, '-start', '.x', 'a', 'x'.repeat(65), 'a b', 'é')
        .filter((u) => !USERNAME.test(u))
        .map((u) => ({ ...b, username: u })),
    ),
    validUserBody.chain((b) =>
      fc
        .tuple(fc.constantFrom(...PROTO_KEYS.filter((k) => k !== '__proto__'), 'isAdmin', 'id', 'disabled'), anyJson)
        .map(([k, v]) => withKey(b, k, v)),
    ),
  );
  const userPath = fc.oneof(
    fc.constantFrom(...ctx.usernames),
    fc.constantFrom('..%2F..%2Fhub', '%2e%2e', 'a', '-x', 'x'.repeat(65), '__proto__', 'constructor', '%00', 'admin%2Ftokens'),
  );
  const badPatch = fc.oneof(
    fc.constant({}),
    fc.record({
      role: fc.oneof(
        fc.constantFrom('root', 'ADMIN', '', 'owner'),
        wrongType((v) => typeof v === 'string'),
      ),
    }),
    fc.record({ disabled: wrongType((v) => typeof v === 'boolean') }),
    fc.record({
      password: fc.oneof(
        fc.constantFrom('short', 'x'.repeat(201)),
        wrongType((v) => typeof v === 'string'),
      ),
    }),
    fc
      .tuple(fc.constantFrom(...PROTO_KEYS.filter((k) => k !== '__proto__'), 'username', 'id', 'password_hash'), anyJson)
      .map(([k, v]) => withKey({ disabled: false }, k, v)),
    fc.constantFrom(null, [], 'x', 1),
  );
  const settingKey = fc.oneof(
    fc.constantFrom(
      ...PROTO_KEYS.filter((k) => k !== '__proto__'),
      'retention.daily',
      'retention.daily.days ',
      'schedule.nope',
      'schedule.',
      'sync.intervalMinutes',
      'numbers.format.quote',
      'alerts.growth.pct',
      'admin.password',
    ),
    nastyString.filter((k) => k.length > 0 && k !== '__proto__'),
  );
  const badSettingsPatch = fc.oneof(
    fc.tuple(settingKey, fc.oneof(fc.integer({ min: 0, max: 100 }), nastyString)).map(([k, v]) => withKey({}, k, v)),
    fc
      .tuple(
        fc.constantFrom(
          'retention.daily.days',
          'retention.weekly.weeks',
          'retention.monthly.months',
          'maintenance.syncLog.maxRows',
          'maintenance.archiveQuotes.years',
        ),
        fc.oneof(fc.constantFrom(-1, 0.5, 1e9, '30', null, true, [], {}, -0.5, 1e308), fc.integer({ min: 20_000_000 })),
      )
      .map(([k, v]) => withKey({}, k, v))
      .filter((o) => {
        const [[k, v]] = Object.entries(o);
        return !(k === 'retention.monthly.months' && v === 0);
      }),
    fc
      .tuple(
        fc.constantFrom('schedule.backup-daily', 'schedule.backup-weekly', 'schedule.vacuum', 'schedule.integrity'),
        fc.oneof(
          fc.constantFrom('* * *', '61 * * * *', 'every day', '', '0 0 * * 8', '0 25 * * *', 5, null, '*/0 * * * *', '0 0 32 * *'),
          nastyString.filter((s) => !/^(\S+\s+){4}\S+$/.test(s) && s.trim() !== 'off'),
        ),
      )
      .map(([k, v]) => withKey({}, k, v)),
    fc.constantFrom({}, [], null, 'x', 5),
    fc
      .tuple(fc.constantFrom('retention.daily.days'), fc.constant(30), fc.constantFrom('nope', 'constructor', 'toString'))
      .map(([k, v, bad]) => withKey(withKey({}, k, v), bad, 1)),
  );
  // Each key with values of the wrong type, or numbers outside every range the contract allows.
  const numberKey = fc.constantFrom('alerts.growth.pct', 'alerts.no-sync.hours', 'alerts.rates.minSyncs', 'alerts.smtp.port');
  const stringKey = fc.constantFrom(
    'alerts.businessHours.days',
    'alerts.businessHours.start',
    'alerts.businessHours.end',
    'alerts.businessHours.timeZone',
    'alerts.webhook.url',
    'alerts.smtp.to',
  );
  const badAlertsPatch = fc.oneof(
    fc
      .tuple(
        numberKey,
        fc.oneof(
          wrongType((v) => typeof v === 'number'),
          fc.constantFrom(-1, -0.5, 1e9, 1e308),
        ),
      )
      .map(([k, v]) => withKey({}, k, v)),
    fc
      .tuple(
        stringKey,
        wrongType((v) => typeof v === 'string'),
      )
      .map(([k, v]) => withKey({}, k, v)),
    wrongType((v) => typeof v === 'boolean').map((v) => ({ 'alerts.growth.enabled': v })),
    fc.constantFrom(
      { 'alerts.businessHours.start': '18:00', 'alerts.businessHours.end': '08:00' },
      { 'alerts.businessHours.timeZone': 'Mars/Olympus' },
      { 'alerts.businessHours.days': '0-8' },
      { 'alerts.businessHours.start': '25:00' },
      { 'alerts.webhook.url': 'javascript:alert(1)' },
      { 'alerts.webhook.url': 'file:///etc/passwd' },
      { 'alerts.smtp.to': 'not an email' },
      { 'alerts.smtp.port': 70000 },
      {},
    ),
    fc
      .tuple(fc.constantFrom(...PROTO_KEYS.filter((k) => k !== '__proto__'), 'alerts.nope', 'alerts.smtp.passwordSet'), anyJson)
      .map(([k, v]) => withKey({ 'alerts.growth.pct': 60 }, k, v)),
  );
  const badResolve = fc.oneof(
    fc.constantFrom(
      {},
      { keep: 'both' },
      { keep: 'WINNER' },
      { keep: 'merged' },
      { keep: 'merged', values: null },
      { keep: 'merged', values: [] },
      { keep: 'winner', values: {} },
      { keep: 'loser', extra: 1 },
      null,
      [],
      'winner',
    ),
    fc
      .tuple(
        fc.oneof(
          fc.constantFrom('nope', 'constructor', 'toString', 'updated_by', 'server_seq', 'id', 'deleted'),
          nastyString.filter((s) => s !== '__proto__'),
        ),
        anyJson,
      )
      .map(([k, v]) => ({ keep: 'merged', values: withKey({}, k, v) })),
    wrongType((v) => v === 'winner' || v === 'loser' || v === 'merged').map((keep) => ({ keep })),
  );
  const jobName = fc
    .oneof(
      fc.constantFrom(
        'VACUUM',
        'vacuum ',
        'backup',
        'restore',
        'runs',
        'schedules',
        'state',
        '..%2Fvacuum',
        'integrity%00',
        ...PROTO_KEYS.filter((k) => k !== '__proto__'),
        'rm -rf',
        'vacuum;reindex',
      ),
      nastyString,
    )
    .filter(
      (j) => !['integrity', 'vacuum', 'reindex', 'optimize', 'prune-sync-log', 'archive-quotes', 'checkpoint'].includes(j) && j.length > 0,
    );
  const MAINT = ['integrity', 'vacuum', 'reindex', 'optimize', 'prune-sync-log', 'archive-quotes', 'checkpoint'];
  const conflictId = ctx.conflictIds.length > 0 ? fc.constantFrom(...ctx.conflictIds) : fc.constant(1);
  const badConfirm = fc
    .oneof(
      fc.constantFrom('', 'yes', 'RESTORE', ctx.confirmPhrase.toLowerCase() + 'x', ctx.confirmPhrase + ' ', ' ' + ctx.confirmPhrase),
      nastyString,
    )
    // The server forgives spaces around the phrase.
    .filter((s) => s.trim() !== ctx.confirmPhrase);
  const badQuery = fc.constantFrom(
    '/api/v1/audit?limit=0',
    '/api/v1/audit?limit=lots',
    '/api/v1/audit?from=yesterday',
    '/api/v1/audit?before=-1',
    '/api/v1/audit?__proto__=1',
    '/api/v1/alerts?status=closed',
    '/api/v1/alerts?limit=501',
    '/api/v1/alerts?rule=%27%20OR%201=1',
    '/api/v1/jobs?type=rm',
    '/api/v1/jobs?limit=0',
    '/api/v1/jobs?before=x',
    '/api/v1/maintenance/runs?type=backup',
    '/api/v1/conflicts?status=everything',
    '/api/v1/conflicts?limit=1001',
    '/api/v1/conflicts?before=0',
    '/api/v1/conflicts?table=x&table=y',
    '/api/v1/backups?kind=../../',
    '/api/v1/monitoring/sync-activity?limit=100000',
    '/api/v1/monitoring/sync-activity?from=not-a-date',
    '/api/v1/monitoring/sync-timeline?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z',
    '/api/v1/monitoring/user-days?days=100000',
    '/api/v1/monitoring/conflict-summary?days=-1',
    '/api/v1/monitoring/growth?days=abc',
  );
  return fc.oneof(
    // Users and tokens.
    fc.tuple(badUserBody, admins).map(([b, as]) => r('users-create-bad-body', 'POST', '/api/v1/users', as, b)),
    fc.tuple(validUserBody, notAdmins).map(([b, as]) => r(`users-create-by-${as}`, 'POST', '/api/v1/users', as, b)),
    fc.tuple(userPath, badPatch, admins).map(([u, b, as]) => r('users-patch-bad', 'PATCH', `/api/v1/users/${u}`, as, b)),
    fc
      .tuple(
        fc.constantFrom(...ctx.usernames),
        fc.constantFrom({ disabled: true }, { role: 'admin' }, { password: 'taken-over-password-1' }),
        notAdmins,
      )
      .map(([u, b, as]) => r(`users-patch-by-${as}`, 'PATCH', `/api/v1/users/${u}`, as, b)),
    fc
      .tuple(
        userPath,
        fc.oneof(
          fc.constantFrom({}, { device: '' }, { device: '   ' }, { device: 'x'.repeat(101) }, { device: 'pc', role: 'admin' }, null),
          fc.record({ device: wrongType((v) => typeof v === 'string') }),
        ),
        admins,
      )
      .map(([u, b, as]) => r('tokens-issue-bad', 'POST', `/api/v1/users/${u}/tokens`, as, b)),
    fc
      .tuple(fc.constantFrom(...ctx.usernames), notAdmins)
      .map(([u, as]) => r(`tokens-issue-by-${as}`, 'POST', `/api/v1/users/${u}/tokens`, as, { device: 'attacker-pc' })),
    fc.tuple(fc.oneof(badId, fc.uuid()), admins).map(([id, as]) => r('tokens-revoke-bad-id', 'DELETE', `/api/v1/tokens/${id}`, as)),
    fc
      .tuple(fc.constantFrom(...ctx.tokenIds), notAdmins)
      .map(([id, as]) => r(`tokens-revoke-by-${as}`, 'DELETE', `/api/v1/tokens/${id}`, as)),
    // Backups: ids, downloads, restores.
    fc
      .tuple(badId, fc.constantFrom('', '/preview', '/download', '/download?file=server'), admins)
      .map(([id, tail, as]) => r('backups-bad-id', 'GET', `/api/v1/backups/${id}${tail}`, as)),
    fc
      .tuple(
        fc.constantFrom(
          '../../hub/hub.db',
          '..%2F..%2Fhub%2Fhub.db',
          'hub',
          'server.db',
          'SERVER',
          '',
          'server&file=numbers',
          '%00server',
          '/etc/passwd',
          'numbers%2F..%2F..%2Fhub',
        ),
        fc.constantFrom(String(ctx.backupId), '999999'),
        admins,
      )
      .map(([file, id, as]) => r('backups-download-bad-file', 'GET', `/api/v1/backups/${id}/download?file=${file}`, as)),
    fc
      .tuple(fc.constantFrom('', '/download', '/download?file=server', '/preview'), fc.constantFrom<Caller>('user', ...REFUSED_CALLERS))
      .map(([tail, as]) => r(`backups-read-by-${as}`, 'GET', `/api/v1/backups/${ctx.backupId}${tail}`, as)),
    fc
      .tuple(fc.constantFrom('/download', '/download?file=numbers', '/preview'), fc.constantFrom<Caller>('manager', 'managerSession'))
      .map(([tail, as]) => r(`backups-admin-read-by-${as}`, 'GET', `/api/v1/backups/${ctx.backupId}${tail}`, as)),
    fc
      .tuple(
        fc.oneof(
          fc.constantFrom('pre-restore', 'hourly', 'MANUAL', '../daily', ''),
          wrongType((v) => typeof v === 'string'),
        ),
        admins,
      )
      .map(([kind, as]) => r('backups-create-bad-kind', 'POST', '/api/v1/backups', as, { kind })),
    fc
      .tuple(fc.constantFrom({}, { kind: 'manual' }, { kind: 'daily' }), notAdmins)
      .map(([b, as]) => r(`backups-create-by-${as}`, 'POST', '/api/v1/backups', as, b)),
    fc
      .tuple(
        fc.oneof(
          badConfirm.map((confirm) => ({ confirm })),
          badConfirm.map((confirm) => ({ confirm, tables: ['customers'] })),
          fc.constantFrom({}, { confirm: null }, { confirm: 5 }, { tables: ['customers'] }, null, []),
          fc.constantFrom(
            { confirm: ctx.confirmPhrase, tables: [] },
            { confirm: ctx.confirmPhrase, tables: ['../../hub'] },
            { confirm: ctx.confirmPhrase, tables: ['users'] },
            { confirm: ctx.confirmPhrase, tables: ['sync_log'] },
            { confirm: ctx.confirmPhrase, tables: ["customers' --"] },
            { confirm: ctx.confirmPhrase, ids: [] },
            { confirm: ctx.confirmPhrase, tables: 'customers' },
            { confirm: ctx.confirmPhrase, ids: ['x'.repeat(65)] },
            { confirm: ctx.confirmPhrase, extra: true },
            { confirm: ctx.confirmPhrase, tables: ['__proto__'] },
            { confirm: ctx.confirmPhrase, tables: ['constructor'] },
          ),
          fc.constant({ confirm: ctx.confirmPhrase, ids: Array.from({ length: 1001 }, (_, i) => `id-${i}`) }),
        ),
        admins,
      )
      .map(([b, as]) => r('backups-restore-bad', 'POST', `/api/v1/backups/${ctx.backupId}/restore`, as, b)),
    fc
      .tuple(badId, admins)
      .map(([id, as]) => r('backups-restore-bad-id', 'POST', `/api/v1/backups/${id}/restore`, as, { confirm: ctx.confirmPhrase })),
    notAdmins.map((as) =>
      r(`backups-restore-by-${as}`, 'POST', `/api/v1/backups/${ctx.backupId}/restore`, as, { confirm: ctx.confirmPhrase }),
    ),
    // Settings, sync settings, alerts.
    fc.tuple(badSettingsPatch, admins).map(([b, as]) => r('settings-patch-bad', 'PATCH', '/api/v1/settings', as, b)),
    notAdmins.map((as) => r(`settings-patch-by-${as}`, 'PATCH', '/api/v1/settings', as, { 'retention.daily.days': 1 })),
    fc
      .tuple(
        fc.oneof(
          fc.constantFrom(0, 4, 1441, -5, 7.5, 1e9),
          wrongType((v) => typeof v === 'number'),
        ),
        admins,
      )
      .map(([v, as]) => r('sync-settings-bad', 'PUT', '/api/v1/sync/settings', as, { intervalMinutes: v })),
    notAdmins.map((as) => r(`sync-settings-by-${as}`, 'PUT', '/api/v1/sync/settings', as, { intervalMinutes: 5 })),
    fc.tuple(badAlertsPatch, admins).map(([b, as]) => r('alerts-settings-bad', 'PATCH', '/api/v1/alerts/settings', as, b)),
    fc
      .tuple(fc.constantFrom<unknown>({ 'alerts.growth.pct': 1 }, { 'alerts.webhook.url': 'http://attacker.example/' }), notAdmins)
      .map(([b, as]) => r(`alerts-settings-by-${as}`, 'PATCH', '/api/v1/alerts/settings', as, b)),
    fc
      .constantFrom<Caller>('manager', 'managerSession', 'user', ...REFUSED_CALLERS)
      .map((as) => r(`alerts-settings-read-by-${as}`, 'GET', '/api/v1/alerts/settings', as)),
    fc.tuple(badId, admins).map(([id, as]) => r('alerts-ack-bad-id', 'POST', `/api/v1/alerts/${id}/acknowledge`, as)),
    notAdmins.map((as) => r(`alerts-evaluate-by-${as}`, 'POST', '/api/v1/alerts/evaluate', as)),
    // Maintenance jobs.
    fc.tuple(jobName, admins).map(([job, as]) => r('maintenance-bad-job', 'POST', `/api/v1/maintenance/${pathSegment(job)}`, as)),
    fc.tuple(fc.constantFrom(...MAINT), notAdmins).map(([job, as]) => r(`maintenance-by-${as}`, 'POST', `/api/v1/maintenance/${job}`, as)),
    // Conflicts.
    fc
      .tuple(conflictId, badResolve, admins)
      .map(([id, b, as]) => r('conflicts-resolve-bad-body', 'POST', `/api/v1/conflicts/${id}/resolve`, as, b)),
    fc
      .tuple(badId, fc.constantFrom({ keep: 'winner' }, { keep: 'loser' }), admins)
      .map(([id, b, as]) => r('conflicts-resolve-bad-id', 'POST', `/api/v1/conflicts/${id}/resolve`, as, b)),
    fc
      .tuple(conflictId, fc.constantFrom({ keep: 'winner' }, { keep: 'loser' }), notAdmins)
      .map(([id, b, as]) => r(`conflicts-resolve-by-${as}`, 'POST', `/api/v1/conflicts/${id}/resolve`, as, b)),
    // Demo seeding over a master that holds data, and seeding by others.
    fc
      .tuple(
        fc.constantFrom<unknown>(
          {},
          { confirm: 'yes' },
          { confirm: 'seed-demo', scale: -1 },
          { confirm: 'seed-demo', scale: 1e9 },
          { confirm: 'seed-demo', months: 'x' },
          null,
        ),
        admins,
      )
      .map(([b, as]) => r('demo-seed-bad', 'POST', '/api/v1/demo/seed', as, b)),
    notAdmins.map((as) => r(`demo-seed-by-${as}`, 'POST', '/api/v1/demo/seed', as, { confirm: 'seed-demo', scale: 0.1, months: 1 })),
    // Query strings of the read endpoints; wrong methods on every kind of route.
    fc.tuple(badQuery, fc.constantFrom<Caller>('admin', 'manager', 'managerSession')).map(([p, as]) => r('bad-query', 'GET', p, as)),
    fc
      .tuple(
        fc.constantFrom(
          ['PUT', '/api/v1/sync/pull'],
          ['DELETE', '/api/v1/users'],
          ['PATCH', '/api/v1/backups'],
          ['GET', '/api/v1/sync/push'],
          ['DELETE', '/api/v1/settings'],
          ['PUT', '/api/v1/auth/login'],
          ['GET', '/api/v1/maintenance/vacuum'],
          ['POST', '/api/v1/health'],
          ['GET', '/api/v1/backups/1/restore'],
          ['DELETE', `/api/v1/backups/${ctx.backupId}`],
        ),
        fc.constantFrom<Caller>('admin', 'user'),
      )
      .map(([[method, p], as]) => r('wrong-method', method, p, as, method === 'GET' || method === 'DELETE' ? undefined : {})),
  );
}

/** The whole mix, weighted roughly by how much surface each group has. */
export function hostileRequest(ctx: Context): fc.Arbitrary<HostileRequest> {
  return fc.oneof(
    { weight: 35, arbitrary: pushRequest(ctx) },
    { weight: 12, arbitrary: pullRequest(ctx) },
    { weight: 10, arbitrary: numbersRequest() },
    { weight: 15, arbitrary: authRequest(ctx) },
    { weight: 28, arbitrary: adminRequest(ctx) },
  );
}
