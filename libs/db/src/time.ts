/**
 * Timestamps in the master are UTC text in SQLite's own format with milliseconds,
 * `YYYY-MM-DD HH:MM:SS.SSS`, so that the guide's queries (`timestamp > datetime('now', '-1 day')`,
 * `DATE(timestamp)`) compare and group them correctly as plain strings.
 */
export function sqlTime(date: Date = new Date()): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

/** Parses a stored timestamp (SQLite format or ISO 8601) as UTC. */
export function parseSqlTime(value: string): Date {
  const iso = value.includes('T') ? value : value.replace(' ', 'T');
  return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`);
}

/** `YYYY-MM-DD_HHmmss` in UTC, the guide's backup file stamp. */
export function fileStamp(date: Date = new Date()): string {
  const iso = date.toISOString();
  return `${iso.slice(0, 10)}_${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
}
