import type { Role } from '@cacpq/sync-protocol';
import { Client, InvalidCredentialsError, ResultCodeError, type Entry } from 'ldapts';
import type { ConnectionOptions } from 'node:tls';
import type { LdapSettings } from '../../config/ldap-config';
import { fillFilter, isDisabledAccount, roleForGroups, usernameAttribute, type DirectoryGroup } from './ldap-filters';

/** What the directory says of an account. */
export type DirectoryVerdict =
  | { kind: 'allowed'; dn: string; username: string; role: Role }
  | { kind: 'refused'; reason: 'not found' | 'disabled' | 'no mapped group' | 'ambiguous'; sentence: string; dn: string | null };

/** The directory could not be asked (down, too slow, a TLS or service-account problem): never an answer about the account. */
export class DirectoryUnavailableError extends Error {}

/**
 * The company directory through ldapts: one connection per sign-in or per check, bound with the
 * service account (LDAP_BIND_DN) to search, then, for a sign-in, bound as the user to check the
 * password. Every failure that is not an answer about the account is a DirectoryUnavailableError
 * whose message is a sentence naming the directory URL.
 */
export class LdapDirectory {
  private readonly nameAttribute: string | null;

  constructor(private readonly settings: LdapSettings) {
    this.nameAttribute = usernameAttribute(settings.userFilter);
  }

  get url(): string {
    return this.settings.url;
  }

  /**
   * Checks a domain password: 'invalid' for an unknown name or a wrong password (the same answer,
   * so names cannot be probed), else the verdict on the account. The password is checked before
   * anything about the account is told.
   */
  async authenticate(username: string, password: string): Promise<DirectoryVerdict | 'invalid'> {
    // An empty password would be an "unauthenticated bind", which servers answer with success.
    if (password === '') return 'invalid';
    return this.withConnection(async (client) => {
      const found = await this.find(client, username);
      if (found.kind === 'refused' && (found.reason === 'not found' || found.reason === 'ambiguous')) return 'invalid';
      try {
        await client.bind(found.dn!, password);
      } catch (err) {
        if (err instanceof InvalidCredentialsError) return 'invalid';
        throw err;
      }
      return found;
    });
  }

  /** The verdicts on several accounts (by their names here), over one connection. */
  async check(usernames: string[]): Promise<Map<string, DirectoryVerdict>> {
    return this.withConnection(async (client) => {
      const verdicts = new Map<string, DirectoryVerdict>();
      for (const name of usernames) verdicts.set(name, await this.find(client, name));
      return verdicts;
    });
  }

  private async find(client: Client, username: string): Promise<DirectoryVerdict> {
    const s = this.settings;
    const attributes = ['cn', 'userAccountControl', 'memberOf', ...(this.nameAttribute ? [this.nameAttribute] : [])];
    const { searchEntries } = await client.search(s.userBase, {
      scope: 'sub',
      filter: fillFilter(s.userFilter, { username }),
      attributes,
    });
    if (searchEntries.length === 0) {
      return { kind: 'refused', reason: 'not found', dn: null, sentence: `${username} is not in the directory any more.` };
    }
    if (searchEntries.length > 1) {
      return {
        kind: 'refused',
        reason: 'ambiguous',
        dn: null,
        sentence: `${username} matches ${searchEntries.length} directory entries; LDAP_USER_FILTER must find exactly one.`,
      };
    }
    const entry = searchEntries[0];
    const typed = this.nameAttribute
      ? values(entry, this.nameAttribute).find((v) => v.toLowerCase() === username.toLowerCase())
      : undefined;
    const name = typed ?? username;
    if (isDisabledAccount(values(entry, 'userAccountControl')[0])) {
      return { kind: 'refused', reason: 'disabled', dn: entry.dn, sentence: `${name} is disabled in the directory.` };
    }
    const role = roleForGroups(await this.groups(client, entry), s.groups);
    if (!role) {
      return {
        kind: 'refused',
        reason: 'no mapped group',
        dn: entry.dn,
        sentence: `${name} is in none of the directory groups that give access to this server; ask an administrator to add them to one.`,
      };
    }
    return { kind: 'allowed', dn: entry.dn, username: name, role };
  }

  /** The user's groups: searched under LDAP_GROUP_BASE when it is set, else the entry's `memberOf`. */
  private async groups(client: Client, entry: Entry): Promise<DirectoryGroup[]> {
    const s = this.settings;
    if (!s.groupBase) return values(entry, 'memberOf').map((dn) => ({ dn }));
    const { searchEntries } = await client.search(s.groupBase, {
      scope: 'sub',
      filter: fillFilter(s.groupFilter, { dn: entry.dn }),
      attributes: ['cn'],
    });
    return searchEntries.map((g) => ({ dn: g.dn, cn: values(g, 'cn')[0] }));
  }

  private async withConnection<T>(work: (client: Client) => Promise<T>): Promise<T> {
    const s = this.settings;
    const tls: ConnectionOptions = { minVersion: 'TLSv1.2', ...(s.ca ? { ca: s.ca } : {}) };
    const client = new Client({
      url: s.url,
      timeout: s.timeoutMs,
      connectTimeout: s.timeoutMs,
      // ldapts connects with TLS whenever TLS options are given: only for ldaps://; StartTLS gets them below.
      ...(s.url.startsWith('ldaps:') ? { tlsOptions: tls } : {}),
      // Bind names such as "svc-cacpq@corp.example.com" (Active Directory) are not DNs.
      strictDN: false,
    });
    let step = 'connect';
    const started = Date.now();
    try {
      if (s.startTls) {
        step = 'starttls';
        await client.startTLS(tls);
      }
      if (s.bindDn) {
        step = 'bind';
        await client.bind(s.bindDn, s.bindPassword);
      }
      step = 'search';
      return await work(client);
    } catch (err) {
      throw new DirectoryUnavailableError(
        `The company directory at ${s.url} is unavailable: ${this.why(err, step, Date.now() - started)}. Directory accounts cannot sign in until it answers; local accounts still can.`,
      );
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  private why(err: unknown, step: string, elapsedMs: number): string {
    const e = err as NodeJS.ErrnoException & { code?: string | number };
    const code = typeof e.code === 'string' ? e.code : '';
    if (step === 'bind' && err instanceof InvalidCredentialsError) {
      return 'it refused the service account LDAP_BIND_DN (wrong DN or LDAP_BIND_PASSWORD)';
    }
    if (code === 'ECONNREFUSED') return 'the connection was refused (is the address and port right, is the server running?)';
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'its host name is not known';
    // ldapts ends a connection attempt that outlasts connectTimeout; the pending request then reports the connection closed.
    const closed = /connection closed/i.test(e.message ?? '');
    if (/timeout|timed out/i.test(e.message ?? '') || code === 'ETIMEDOUT' || (closed && elapsedMs >= this.settings.timeoutMs - 50)) {
      return `no answer within ${this.settings.timeoutMs} ms (LDAP_TIMEOUT_MS)`;
    }
    if (code === 'ECONNRESET' || code === 'EPIPE' || closed) {
      return this.settings.url.startsWith('ldaps:')
        ? 'it closed the connection (does that port speak ldaps://?)'
        : 'it closed the connection';
    }
    if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'it cannot be reached on the network';
    if (/CERT|SELF_SIGNED|ALTNAME|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL/.test(code) || /certificate/i.test(e.message ?? '')) {
      return `its TLS certificate is not trusted (${e.message}); set LDAP_CA_FILE to the CA that signed it`;
    }
    if (step === 'starttls') return `StartTLS failed (${e.message})`;
    if (err instanceof ResultCodeError) return `it answered "${e.message}" (code ${err.code})`;
    return e.message || String(err);
  }
}

/** An attribute's values as text, whatever the case of its name in the answer. */
function values(entry: Entry, attribute: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  if (!key) return [];
  const v = entry[key];
  return (Array.isArray(v) ? v : [v]).map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
}
