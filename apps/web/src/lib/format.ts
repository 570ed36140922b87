/** "45 s", "12 min", "3 h 12 min", "2 d 4 h". */
export function formatDuration(totalSeconds: number): string {
  if (!Number.isFinite(totalSeconds) || totalSeconds < 0) return '—';
  const s = Math.floor(totalSeconds);
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${minutes % 60} min`;
  const days = Math.floor(hours / 24);
  return `${days} d ${hours % 24} h`;
}

const UNITS = ['KB', 'MB', 'GB', 'TB'];

/** "0 B", "812 B", "4.0 KB", "12.5 MB" (binary multiples, as file managers show them). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 100 ? Math.round(value) : value.toFixed(1)} ${UNITS[unit]}`;
}

/** First characters of a long id, for display; the full id belongs in a title attribute. */
export function shortId(id: string, length = 8): string {
  return id.length > length ? `${id.slice(0, length)}…` : id;
}

/** A server time: ISO 8601, or SQLite's "2025-11-24 21:57:00.000", which the server writes in UTC. */
export function parseServerTime(value: string): Date {
  const sql = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value);
  return new Date(sql ? `${value.replace(' ', 'T')}Z` : value);
}

/** Local date and time, e.g. "24 Nov 2025, 22:57". */
export function formatDateTime(iso: string): string {
  const date = parseServerTime(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** Local time of day on the 24-hour clock, e.g. "22:57". */
export function formatTime(iso: string): string {
  const date = parseServerTime(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
}

/** "0%" … "100%" of a 0..1 fraction, never past either end. */
export function formatPercent(fraction: number): string {
  return `${percent(fraction)}%`;
}

/** A 0..1 fraction as a whole percentage, clamped. */
export function percent(fraction: number): number {
  if (!Number.isFinite(fraction)) return 0;
  return Math.round(Math.min(1, Math.max(0, fraction)) * 100);
}

/** "1 change", "1,234 changes". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}
