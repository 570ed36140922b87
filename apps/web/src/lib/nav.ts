/** The dashboard's pages, in the order of the main navigation. Every page is open to managers (read-only) and admins. */
export const NAV = [
  { href: '/', label: 'Overview' },
  { href: '/sync', label: 'Sync activity' },
  { href: '/conflicts', label: 'Conflicts' },
  { href: '/refused', label: 'Refused changes' },
  { href: '/growth', label: 'Growth' },
  { href: '/activity', label: 'User activity' },
  { href: '/backups', label: 'Backups' },
  { href: '/maintenance', label: 'Maintenance' },
  { href: '/alerts', label: 'Alerts' },
  { href: '/audit', label: 'Audit log' },
  { href: '/settings', label: 'Settings' },
  { href: '/accounts', label: 'Users and tokens' },
] as const;
