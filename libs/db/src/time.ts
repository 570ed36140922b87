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

/** `YYYY-MM-DD_HHmmss` in the server's local time, the guide's backup file stamp (`Get-Date -Format`). */
export function fileStamp(date: Date = new Date()): string {
  return `${localDate(date)}_${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
}

/** `YYYY-MM-DD` in the server's local time. */
export function localDate(date: Date = new Date()): string {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** Parses a `YYYY-MM-DD[_HHmmss]` stamp as local time; null when it is not one. */
export function parseFileStamp(stamp: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:_(\d{2})(\d{2})(\d{2}))?$/.exec(stamp);
  if (!m) return null;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0));
  return Number.isNaN(d.getTime()) || localDate(d) !== `${m[1]}-${m[2]}-${m[3]}` ? null : d;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
