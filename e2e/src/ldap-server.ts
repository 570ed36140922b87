import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { freePort } from './browser';
import { tempDir } from './harness';

export const SLAPD = '/usr/sbin/slapd';
export const SUFFIX = 'dc=cacpq,dc=test';
export const PEOPLE = `ou=people,${SUFFIX}`;
export const GROUPS = `ou=groups,${SUFFIX}`;
/** The service account the server searches with (LDAP_BIND_DN). */
export const SERVICE_DN = `cn=cacpq-service,ou=services,${SUFFIX}`;
export const SERVICE_PASSWORD = 'service-password-1';
const ROOT_DN = `cn=root,${SUFFIX}`;
const ROOT_PASSWORD = 'root-password-1';
/** groupOfNames must have a member: every group keeps this one, so its last person can leave. */
const PLACEHOLDER = `cn=placeholder,${SUFFIX}`;

export const userDn = (uid: string) => `uid=${uid},${PEOPLE}`;
export const groupDn = (cn: string) => `cn=${cn},${GROUPS}`;

/**
 * Active Directory's two attributes on top of inetOrgPerson, with AD's OIDs, so the directory
 * tests can check the `sAMAccountName` filter and the `userAccountControl` disabled bit against a
 * real slapd. (`memberOf` comes from slapd's memberof overlay, as AD maintains it.)
 */
const AD_SCHEMA = `attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl' EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.55555.1.1 NAME 'cacpqTestAdAccount' SUP top AUXILIARY MAY ( sAMAccountName $ userAccountControl ) )
`;

export interface LdapServer {
  /** ldap://127.0.0.1:PORT */
  url: string;
  /** ldaps://127.0.0.1:PORT (with `tls`). */
  ldapsUrl: string | null;
  /** The PEM file of the CA that signed the server's certificate (with `tls`). */
  caFile: string | null;
  dir: string;
  addUser(uid: string, password: string, opts?: { groups?: string[]; disabled?: boolean }): Promise<void>;
  addGroup(cn: string, members?: string[]): Promise<void>;
  addToGroup(cn: string, uid: string): Promise<void>;
  removeFromGroup(cn: string, uid: string): Promise<void>;
  /** Out of one group, into another. */
  moveUser(uid: string, from: string, to: string): Promise<void>;
  /** Deleted, and out of every group. */
  removeUser(uid: string): Promise<void>;
  /** Active Directory's way: bit 2 of userAccountControl (514), or back to 512. */
  setDisabled(uid: string, disabled: boolean): Promise<void>;
  /** The process ends (connections are refused); `start` brings it back with the same entries. */
  down(): Promise<void>;
  start(): Promise<void>;
  /** Frozen (SIGSTOP): connections are accepted and never answered, until `thaw`. */
  freeze(): void;
  thaw(): void;
  stop(): Promise<void>;
}

function run(cmd: string, args: string[], cwd: string): void {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw new Error(`could not run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
}

/** A CA and a server certificate for 127.0.0.1 and localhost, made with openssl. */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run('openssl', ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=CACPQ test directory CA'], dir);
  run('openssl', ['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  run(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.crt',
      '-days',
      '2',
      '-extfile',
      'san.ext',
    ],
    dir,
  );
  return { ca: path.join(dir, 'ca.crt'), cert: path.join(dir, 'server.crt'), key: path.join(dir, 'server.key') };
}

/**
 * A real OpenLDAP server (slapd) for the directory tests: a temporary directory with a generated
 * slapd.conf (mdb, the memberof overlay, ACLs like a real directory's: people read entries only
 * once signed in, passwords are only for binding), on free loopback ports, with a service
 * account, `ou=people` and `ou=groups`. With `tls`, it also listens on ldaps:// and offers
 * StartTLS, with a certificate from a CA of its own (`caFile`).
 */
export async function startLdapServer(opts: { tls?: boolean } = {}): Promise<LdapServer> {
  if (!fs.existsSync(SLAPD)) throw new Error(`${SLAPD} is missing: apt-get install -y --no-install-recommends slapd ldap-utils`);
  const dir = tempDir('slapd');
  const db = path.join(dir, 'db');
  fs.mkdirSync(db);
  fs.writeFileSync(path.join(dir, 'ad.schema'), AD_SCHEMA);
  const tls = opts.tls ? makeCertificates(dir) : null;
  const port = await freePort();
  const tlsPort = tls ? await freePort() : null;
  fs.writeFileSync(
    path.join(dir, 'slapd.conf'),
    [
      ...['core', 'cosine', 'inetorgperson', 'nis'].map((s) => `include /etc/ldap/schema/${s}.schema`),
      `include ${path.join(dir, 'ad.schema')}`,
      'modulepath /usr/lib/ldap',
      'moduleload back_mdb',
      'moduleload memberof',
      `pidfile ${path.join(dir, 'slapd.pid')}`,
      ...(tls ? [`TLSCACertificateFile ${tls.ca}`, `TLSCertificateFile ${tls.cert}`, `TLSCertificateKeyFile ${tls.key}`] : []),
      'database mdb',
      `suffix "${SUFFIX}"`,
      `rootdn "${ROOT_DN}"`,
      `rootpw ${ROOT_PASSWORD}`,
      `directory ${db}`,
      'maxsize 33554432',
      'overlay memberof',
      'access to attrs=userPassword by self write by anonymous auth by * none',
      'access to * by users read by * none',
      '',
    ].join('\n'),
  );

  let proc: ChildProcess | null = null;
  let log = '';
  const url = `ldap://127.0.0.1:${port}`;
  const listen = [`${url}/`, ...(tlsPort ? [`ldaps://127.0.0.1:${tlsPort}/`] : [])].join(' ');

  async function connect(): Promise<Client> {
    const client = new Client({ url, timeout: 5000, connectTimeout: 5000 });
    await client.bind(ROOT_DN, ROOT_PASSWORD);
    return client;
  }
  async function admin<T>(work: (c: Client) => Promise<T>): Promise<T> {
    const c = await connect();
    try {
      return await work(c);
    } finally {
      await c.unbind().catch(() => undefined);
    }
  }

  async function start(): Promise<void> {
    // As root, slapd stays root (no -u): the temporary directory is root's.
    const child = spawn(SLAPD, ['-f', path.join(dir, 'slapd.conf'), '-h', listen, '-d', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = child;
    child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`slapd exited with ${child.exitCode}:\n${log}`);
      try {
        await admin(async () => undefined);
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`slapd did not answer in 15 s: ${(err as Error).message}\n${log}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async function down(): Promise<void> {
    const child = proc;
    proc = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  await start();
  await admin(async (c) => {
    await c.add(SUFFIX, { objectClass: ['dcObject', 'organization'], o: 'CACPQ test', dc: 'cacpq' });
    for (const ou of ['people', 'groups', 'services']) await c.add(`ou=${ou},${SUFFIX}`, { objectClass: 'organizationalUnit', ou });
    await c.add(SERVICE_DN, {
      objectClass: ['inetOrgPerson'],
      cn: 'cacpq-service',
      sn: 'service',
      userPassword: SERVICE_PASSWORD,
    });
  });

  const membership = (cn: string, uid: string, operation: 'add' | 'delete') =>
    admin((c) => c.modify(groupDn(cn), new Change({ operation, modification: new Attribute({ type: 'member', values: [userDn(uid)] }) })));

  return {
    url,
    ldapsUrl: tlsPort ? `ldaps://127.0.0.1:${tlsPort}` : null,
    caFile: tls?.ca ?? null,
    dir,
    addUser: async (uid, password, o = {}) => {
      await admin((c) =>
        c.add(userDn(uid), {
          objectClass: ['inetOrgPerson', 'cacpqTestAdAccount'],
          uid,
          sAMAccountName: uid,
          cn: uid,
          sn: uid,
          userPassword: password,
          userAccountControl: o.disabled ? '514' : '512',
        }),
      );
      for (const g of o.groups ?? []) await membership(g, uid, 'add');
    },
    addGroup: (cn, members = []) =>
      admin((c) => c.add(groupDn(cn), { objectClass: 'groupOfNames', cn, member: [PLACEHOLDER, ...members.map(userDn)] })),
    addToGroup: (cn, uid) => membership(cn, uid, 'add'),
    removeFromGroup: (cn, uid) => membership(cn, uid, 'delete'),
    moveUser: async (uid, from, to) => {
      await membership(from, uid, 'delete');
      await membership(to, uid, 'add');
    },
    removeUser: (uid) =>
      admin(async (c) => {
        const { searchEntries } = await c.search(GROUPS, { scope: 'sub', filter: `(member=${userDn(uid)})`, attributes: ['cn'] });
        for (const g of searchEntries) {
          await c.modify(g.dn, new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [userDn(uid)] }) }));
        }
        await c.del(userDn(uid));
      }),
    setDisabled: (uid, disabled) =>
      admin((c) =>
        c.modify(
          userDn(uid),
          new Change({
            operation: 'replace',
            modification: new Attribute({ type: 'userAccountControl', values: [disabled ? '514' : '512'] }),
          }),
        ),
      ),
    down,
    start,
    freeze: () => proc?.kill('SIGSTOP'),
    thaw: () => proc?.kill('SIGCONT'),
    stop: async () => {
      await down();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
