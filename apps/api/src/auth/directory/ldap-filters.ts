import type { Role } from '@cacpq/sync-protocol';

/**
 * The pure parts of directory sign-in: filter escaping (RFC 4515), DN parsing and comparison
 * (RFC 4514), the group → role mapping and Active Directory's disabled flag.
 */

/** A value for an LDAP filter: `\ * ( )` and NUL become `\5c \2a \28 \29 \00` (RFC 4515), so a name cannot change the filter. */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** The filter with every `{name}` placeholder replaced by its escaped value. */
export function fillFilter(template: string, values: Record<string, string>): string {
  let out = template;
  for (const [name, value] of Object.entries(values)) out = out.split(`{${name}}`).join(escapeFilterValue(value));
  return out;
}

/** The attribute the user filter compares the typed name with (`uid` in `(uid={username})`), or null. */
export function usernameAttribute(userFilter: string): string | null {
  return /\(\s*([A-Za-z][\w-]*)\s*=\s*\{username\}\s*\)/.exec(userFilter)?.[1] ?? null;
}

export interface Rdn {
  /** Lower case. */
  type: string;
  /** Unescaped. */
  value: string;
}

/**
 * The RDNs of a DN, most specific first (`CN=Smith\, Jo,OU=Staff` → cn "Smith, Jo", ou "Staff").
 * Escapes (`\,` and `\2C`) are undone; a multi-valued RDN (`a=1+b=2`) keeps its first value.
 */
export function parseDn(dn: string): Rdn[] {
  const rdns: Rdn[] = [];
  let type = '';
  let value: number[] = [];
  let inValue = false;
  let skipRest = false;
  const push = () => {
    const t = type.trim().toLowerCase();
    if (t !== '') rdns.push({ type: t, value: Buffer.from(value).toString('utf8').trim() });
    type = '';
    value = [];
    inValue = false;
    skipRest = false;
  };
  const bytes = Buffer.from(dn, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (c === 0x5c /* \ */ && i + 1 < bytes.length) {
      const hex = /^[0-9A-Fa-f]{2}/.exec(bytes.subarray(i + 1, i + 3).toString('latin1'));
      const decoded = hex ? parseInt(hex[0], 16) : bytes[i + 1];
      i += hex ? 2 : 1;
      if (inValue && !skipRest) value.push(decoded);
      continue;
    }
    if (c === 0x2c /* , */ || c === 0x3b /* ; */) push();
    else if (!inValue && c === 0x3d /* = */) inValue = true;
    else if (inValue && c === 0x2b /* + */) skipRest = true;
    else if (inValue) {
      if (!skipRest) value.push(c);
    } else type += String.fromCharCode(c);
  }
  push();
  return rdns;
}

/** A DN for comparison: types and values in lower case, spaces around separators and escapes gone. */
export function normalizeDn(dn: string): string {
  return parseDn(dn)
    .map((r) => `${r.type}=${r.value.toLowerCase()}`)
    .join(',');
}

/** A group the user is in: its DN, and its `cn` when the group search read it. */
export interface DirectoryGroup {
  dn: string;
  cn?: string;
}

/**
 * Whether a configured group (a DN such as `cn=sales,ou=groups,dc=example,dc=com`, or a CN such
 * as `Sales`) names this group. Both compare without regard to case, as directories do.
 */
export function groupMatches(configured: string, group: DirectoryGroup): boolean {
  if (configured.includes('=')) return normalizeDn(configured) === normalizeDn(group.dn);
  const want = configured.trim().toLowerCase();
  const first = parseDn(group.dn)[0];
  const names = [group.cn, first && first.type === 'cn' ? first.value : undefined];
  return names.some((n) => n !== undefined && n.trim().toLowerCase() === want);
}

const ROLE_ORDER: Role[] = ['admin', 'manager', 'user'];

/** The highest role any of the user's groups gives, or null when none of them is mapped. */
export function roleForGroups(groups: DirectoryGroup[], mapping: Record<Role, string[]>): Role | null {
  for (const role of ROLE_ORDER) {
    if (mapping[role].some((configured) => groups.some((g) => groupMatches(configured, g)))) return role;
  }
  return null;
}

/** Active Directory: bit 2 (ACCOUNTDISABLE) of `userAccountControl` set means the account is disabled. */
export function isDisabledAccount(userAccountControl: string | undefined): boolean {
  if (userAccountControl === undefined || !/^-?\d+$/.test(userAccountControl.trim())) return false;
  return (Number(userAccountControl.trim()) & 2) === 2;
}
