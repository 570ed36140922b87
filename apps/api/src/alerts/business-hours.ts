/**
 * Business hours in a given IANA time zone (not the server's): which ISO weekdays, and from/to
 * which wall-clock time. The no-sync rule counts only the time inside these hours.
 */
export interface BusinessHours {
  /** ISO weekdays, 1 = Monday ... 7 = Sunday. */
  days: Set<number>;
  /** Minutes after local midnight; `end` may be 1440 ("24:00"). */
  start: number;
  end: number;
  timeZone: string;
}

const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };
const formatters = new Map<string, Intl.DateTimeFormat>();

/** "1-5,7" → {1,2,3,4,5,7}; throws an Error with a sentence for anything else. */
export function parseDays(spec: string): Set<number> {
  const out = new Set<number>();
  for (const part of spec.split(',')) {
    const m = /^([1-7])(?:-([1-7]))?$/.exec(part.trim());
    if (!m) throw new Error(`"${part}" is not an ISO weekday (1 = Monday ... 7 = Sunday) or a range of them.`);
    const lo = Number(m[1]);
    const hi = m[2] ? Number(m[2]) : lo;
    if (lo > hi) throw new Error(`"${part}" is an inverted range of weekdays.`);
    for (let d = lo; d <= hi; d++) out.add(d);
  }
  return out;
}

/** "08:30" → 510. */
export function parseClock(hhmm: string): number {
  const m = /^(\d\d):(\d\d)$/.exec(hhmm);
  if (!m) throw new Error(`"${hhmm}" is not a time of day as HH:MM.`);
  return Number(m[1]) * 60 + Number(m[2]);
}

/** ISO weekday and minutes after local midnight (with the seconds as a fraction) of an instant in a zone. */
export function localTime(at: Date, timeZone: string): { weekday: number; minute: number } {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, f);
  }
  let weekday = 0;
  let hour = 0;
  let minute = 0;
  for (const p of f.formatToParts(at)) {
    if (p.type === 'weekday') weekday = WEEKDAYS[p.value] ?? 0;
    else if (p.type === 'hour') hour = Number(p.value) % 24;
    else if (p.type === 'minute') minute = Number(p.value);
  }
  // Every zone in use is offset by whole minutes, so the seconds are the UTC ones.
  const seconds = (((at.getTime() % 60_000) + 60_000) % 60_000) / 60_000;
  return { weekday, minute: hour * 60 + minute + seconds };
}

export function insideBusinessHours(at: Date, bh: BusinessHours): boolean {
  const t = localTime(at, bh.timeZone);
  return bh.days.has(t.weekday) && t.minute >= bh.start && t.minute < bh.end;
}

/**
 * Milliseconds of business time between `from` and `to`, counted up to `capMs` (the walk stops
 * once past it). Walks at most an hour at a time and re-reads the local time at each step, so
 * that a daylight-saving change or a zone with an odd offset never skips a boundary.
 */
export function businessMsBetween(from: Date, to: Date, bh: BusinessHours, capMs = Infinity): number {
  const HOUR = 3_600_000;
  let t = from.getTime();
  const end = to.getTime();
  let total = 0;
  // Bounded: a step is at least a minute's remainder, and the cap ends long silences early.
  for (let guard = 0; t < end && total <= capMs && guard < 100_000; guard++) {
    const local = localTime(new Date(t), bh.timeZone);
    const isDay = bh.days.has(local.weekday);
    let step: number;
    if (isDay && local.minute >= bh.start && local.minute < bh.end) {
      step = Math.min(HOUR, (bh.end - local.minute) * 60_000, end - t);
      total += step;
    } else if (isDay && local.minute < bh.start) {
      step = Math.min(HOUR, (bh.start - local.minute) * 60_000, end - t);
    } else {
      // After hours or not a business day: on to the next local midnight, an hour at a time.
      step = Math.min(HOUR, (1440 - local.minute) * 60_000, end - t);
    }
    t += Math.max(step, 1);
  }
  return total;
}
