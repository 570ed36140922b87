/**
 * Five-field cron expressions (minute hour day-of-month month day-of-week) in the server's local
 * time. Unlike classic cron, day-of-month and day-of-week must both match, so `0 2 1-7 * 0` is
 * "the first Sunday of the month at 02:00" (the guide's VACUUM schedule). `off` disables a job.
 */
export class CronSchedule {
  private constructor(
    readonly source: string,
    private readonly fields: Set<number>[],
  ) {}

  static readonly OFF = 'off';

  /** Null for `off`; throws an Error whose message is a sentence for anything else invalid. */
  static parse(expr: string): CronSchedule | null {
    const source = expr.trim();
    if (source === CronSchedule.OFF) return null;
    const parts = source.split(/\s+/);
    if (parts.length !== 5) throw new Error(`"${expr}" is not a schedule: give five fields (minute hour day month weekday) or "off".`);
    const fields = parts.map((part, i) => parseField(part, FIELDS[i]));
    // Sunday may be written 0 or 7.
    if (fields[4].has(7)) fields[4].add(0);
    return new CronSchedule(source, fields);
  }

  matches(d: Date): boolean {
    return this.matchesFields(d.getMinutes(), d.getHours(), d.getDate(), d.getMonth() + 1, d.getDay());
  }

  /** For a wall-clock minute carried as a UTC timestamp (see {@link wallMinute}). */
  matchesWall(wall: number): boolean {
    const d = new Date(wall);
    return this.matchesFields(d.getUTCMinutes(), d.getUTCHours(), d.getUTCDate(), d.getUTCMonth() + 1, d.getUTCDay());
  }

  private matchesFields(minute: number, hour: number, dom: number, month: number, dow: number): boolean {
    const f = this.fields;
    return f[0].has(minute) && f[1].has(hour) && f[2].has(dom) && f[3].has(month) && f[4].has(dow);
  }

  /** The first minute strictly after `after` that matches, within five years; null if none. */
  next(after: Date): Date | null {
    const d = new Date(after.getTime());
    d.setSeconds(0, 0);
    d.setMinutes(d.getMinutes() + 1);
    const [min, hour, dom, month, dow] = this.fields;
    const limit = after.getTime() + 5 * 366 * 86_400_000;
    while (d.getTime() <= limit) {
      if (!month.has(d.getMonth() + 1) || !dom.has(d.getDate()) || !dow.has(d.getDay())) {
        d.setDate(d.getDate() + 1);
        d.setHours(0, 0, 0, 0);
        continue;
      }
      if (!hour.has(d.getHours())) {
        d.setHours(d.getHours() + 1, 0, 0, 0);
        continue;
      }
      if (!min.has(d.getMinutes())) {
        d.setMinutes(d.getMinutes() + 1, 0, 0);
        continue;
      }
      return d;
    }
    return null;
  }
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
}

const FIELDS: FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 0, max: 7 },
];

function parseField(part: string, spec: FieldSpec): Set<number> {
  const out = new Set<number>();
  const bad = () => new Error(`"${part}" is not a valid ${spec.name} (${spec.min}-${spec.max}, *, ranges a-b, steps /n, lists a,b).`);
  for (const item of part.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item);
    if (!m) throw bad();
    let lo = spec.min;
    let hi = spec.max;
    if (m[1] !== '*') {
      lo = Number(m[2]);
      hi = m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? spec.max : lo;
    }
    const step = m[4] !== undefined ? Number(m[4]) : 1;
    if (lo < spec.min || hi > spec.max || lo > hi || step < 1) throw bad();
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

/**
 * The local wall-clock minute of `d` as a plain number (its fields carried in a UTC timestamp), so
 * that minutes can be counted across daylight-saving changes: the hour skipped in spring is still
 * walked through, and the hour repeated in autumn is not walked twice.
 */
export function wallMinute(d: Date): number {
  return Date.UTC(d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes());
}
