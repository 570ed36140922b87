import { Filter, FilterParser } from 'ldapts';
import {
  escapeFilterValue,
  fillFilter,
  groupMatches,
  isDisabledAccount,
  normalizeDn,
  parseDn,
  roleForGroups,
  usernameAttribute,
} from './ldap-filters';

describe('LDAP filter escaping (RFC 4515)', () => {
  it('escapes the five characters that could change a filter, and nothing else', () => {
    expect(escapeFilterValue('jdoe')).toBe('jdoe');
    expect(escapeFilterValue('*')).toBe('\\2a');
    expect(escapeFilterValue('a)(uid=*')).toBe('a\\29\\28uid=\\2a');
    expect(escapeFilterValue('back\\slash')).toBe('back\\5cslash');
    expect(escapeFilterValue('nul\0byte')).toBe('nul\\00byte');
    expect(escapeFilterValue('Zoë.Müller@example.com')).toBe('Zoë.Müller@example.com');
  });

  it('agrees with ldapts on every printable ASCII character', () => {
    for (let c = 0x20; c < 0x7f; c++) {
      const s = `x${String.fromCharCode(c)}y`;
      expect(escapeFilterValue(s).toLowerCase()).toBe(Filter.escape(s).toLowerCase());
    }
  });

  it('fills every placeholder, so an injected name stays one equality value', () => {
    const filter = fillFilter('(&(objectClass=person)(|(uid={username})(mail={username})))', { username: '*)(objectClass=*' });
    expect(filter).toBe('(&(objectClass=person)(|(uid=\\2a\\29\\28objectClass=\\2a)(mail=\\2a\\29\\28objectClass=\\2a)))');
    // Parsed back, the value is the name as typed: an equality match, not a wildcard.
    const parsed = FilterParser.parseString(filter);
    expect(parsed.toString()).toContain('(uid=\\2a\\29\\28objectClass=\\2a)');
    expect(fillFilter('(member={dn})', { dn: 'cn=Smith\\, Jo (ext),ou=people' })).toBe('(member=cn=Smith\\5c, Jo \\28ext\\29,ou=people)');
    // A "$&" in a value is not a replacement pattern.
    expect(fillFilter('(uid={username})', { username: 'a$&b' })).toBe('(uid=a$&b)');
  });

  it('finds the attribute the user filter compares the name with', () => {
    expect(usernameAttribute('(&(objectClass=person)(uid={username}))')).toBe('uid');
    expect(usernameAttribute('(&(objectClass=user)(sAMAccountName={username}))')).toBe('sAMAccountName');
    expect(usernameAttribute('(&(objectClass=user)(userPrincipalName={username}@corp.example))')).toBeNull();
  });
});

describe('DNs', () => {
  it('parses RDNs with escapes, hex escapes and spaces', () => {
    expect(parseDn('CN=Smith\\, Jo,OU=Staff , DC=corp,DC=example')).toEqual([
      { type: 'cn', value: 'Smith, Jo' },
      { type: 'ou', value: 'Staff' },
      { type: 'dc', value: 'corp' },
      { type: 'dc', value: 'example' },
    ]);
    expect(parseDn('cn=M\\C3\\BCller\\2C Ann,dc=x')[0]).toEqual({ type: 'cn', value: 'Müller, Ann' });
    expect(parseDn('cn=a+uid=b,dc=x')[0]).toEqual({ type: 'cn', value: 'a' });
  });

  it('compares DNs without regard to case or spacing', () => {
    expect(normalizeDn('CN=CACPQ Admins, OU=Groups,DC=Corp,DC=Example')).toBe(normalizeDn('cn=cacpq admins,ou=groups,dc=corp,dc=example'));
    expect(normalizeDn('cn=a\\,b,dc=x')).not.toBe(normalizeDn('cn=a,b,dc=x'));
  });
});

describe('directory groups → roles', () => {
  const mapping = {
    admin: ['cn=cacpq-admins,ou=groups,dc=cacpq,dc=test'],
    manager: ['CACPQ Managers', 'Sales Leads'],
    user: ['cn=cacpq-users,ou=groups,dc=cacpq,dc=test', 'Everyone CACPQ'],
  };
  const group = (dn: string, cn?: string) => ({ dn, cn });

  it('matches a configured DN by DN and a configured CN by the group name', () => {
    expect(groupMatches('cn=cacpq-admins,ou=groups,dc=cacpq,dc=test', group('CN=CACPQ-Admins, OU=Groups,DC=cacpq,DC=test'))).toBe(true);
    expect(groupMatches('cn=cacpq-admins,ou=groups,dc=cacpq,dc=test', group('cn=cacpq-admins,ou=old,dc=cacpq,dc=test'))).toBe(false);
    expect(groupMatches('CACPQ Managers', group('CN=CACPQ Managers,OU=Groups,DC=corp'))).toBe(true);
    expect(groupMatches('cacpq managers', group('cn=x,ou=groups', 'CACPQ Managers'))).toBe(true);
    expect(groupMatches('CACPQ', group('CN=CACPQ Managers,OU=Groups,DC=corp'))).toBe(false);
    // An OU of that name is not a group of that name.
    expect(groupMatches('Groups', group('CN=Other,OU=Groups,DC=corp'))).toBe(false);
  });

  it('gives the highest role any group maps to, and null for none', () => {
    expect(roleForGroups([group('cn=cacpq-users,ou=groups,dc=cacpq,dc=test')], mapping)).toBe('user');
    expect(roleForGroups([group('cn=cacpq-users,ou=groups,dc=cacpq,dc=test'), group('CN=Sales Leads,OU=x')], mapping)).toBe('manager');
    expect(
      roleForGroups([group('CN=Sales Leads,OU=x'), group('cn=CACPQ-ADMINS,ou=groups,dc=cacpq,dc=test'), group('cn=other')], mapping),
    ).toBe('admin');
    expect(roleForGroups([group('cn=Everyone CACPQ,ou=x')], mapping)).toBe('user');
    expect(roleForGroups([group('cn=Domain Users,cn=users,dc=corp')], mapping)).toBeNull();
    expect(roleForGroups([], mapping)).toBeNull();
    expect(roleForGroups([group('cn=cacpq-admins,ou=groups,dc=cacpq,dc=test')], { admin: [], manager: [], user: [] })).toBeNull();
  });
});

describe("Active Directory's disabled flag", () => {
  it('reads bit 2 of userAccountControl', () => {
    expect(isDisabledAccount('512')).toBe(false); // NORMAL_ACCOUNT
    expect(isDisabledAccount('514')).toBe(true); // NORMAL_ACCOUNT | ACCOUNTDISABLE
    expect(isDisabledAccount('66050')).toBe(true); // … | DONT_EXPIRE_PASSWORD
    expect(isDisabledAccount('66048')).toBe(false);
    expect(isDisabledAccount(undefined)).toBe(false);
    expect(isDisabledAccount('n/a')).toBe(false);
  });
});
