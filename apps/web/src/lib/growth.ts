import type { GrowthFile, GrowthReport } from '@cacpq/sync-protocol';
import { parseServerTime } from './format';

export type { GrowthFile, GrowthReport };

export const GROWTH_PATH = '/api/v1/monitoring/growth?days=90';
export const MB = 1024 * 1024;
const DAY_MS = 86_400_000;
/** Days over which the growth rate of the rate chart is measured. */
export const RATE_WINDOW_DAYS = 7;

export const toMb = (bytes: number) => Math.round((bytes / MB) * 100) / 100;

/** "24 Nov" for a sample day. */
export function shortDay(day: string): string {
  const d = new Date(`${day}T12:00:00Z`);
  return Number.isNaN(d.getTime()) ? day : d.toLocaleDateString(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });
}

/**
 * Each file's last sample per day (UTC), on the days any file has a sample: the history as one
 * series per file, file and WAL separately, in MB (null on a day a file was not sampled).
 */
export function dailySizes(report: GrowthReport): {
  days: string[];
  files: { file: string; mb: (number | null)[]; walMb: (number | null)[] }[];
} {
  const perFile = report.files.map((f) => {
    const byDay = new Map<string, { bytes: number; walBytes: number }>();
    for (const s of f.samples) byDay.set(parseServerTime(s.at).toISOString().slice(0, 10), s);
    return { file: f.file, byDay };
  });
  const days = [...new Set(perFile.flatMap((f) => [...f.byDay.keys()]))].sort();
  return {
    days,
    files: perFile.map(({ file, byDay }) => ({
      file,
      mb: days.map((d) => (byDay.has(d) ? toMb(byDay.get(d)!.bytes) : null)),
      walMb: days.map((d) => (byDay.has(d) ? toMb(byDay.get(d)!.walBytes) : null)),
    })),
  };
}

/**
 * Growth rate in MB a year of all files together (file + WAL), measured over the trailing
 * RATE_WINDOW_DAYS at each day that has a sample that far back; null before.
 */
export function yearlyRates(report: GrowthReport): { days: string[]; mbPerYear: (number | null)[] } {
  const { days, files } = dailySizes(report);
  // Total per day, carrying a file's last known size over days it was not sampled.
  const last = files.map(() => 0);
  const totals = days.map((_, i) =>
    files.reduce((sum, f, j) => {
      const v = f.mb[i] === null ? null : f.mb[i]! + (f.walMb[i] ?? 0);
      if (v !== null) last[j] = v;
      return sum + last[j];
    }, 0),
  );
  const time = days.map((d) => Date.parse(`${d}T00:00:00Z`));
  const mbPerYear = days.map((_, i) => {
    let k = -1;
    for (let j = i - 1; j >= 0; j--) {
      if (time[i] - time[j] >= RATE_WINDOW_DAYS * DAY_MS) {
        k = j;
        break;
      }
    }
    if (k < 0) return null;
    return Math.round(((totals[i] - totals[k]) / ((time[i] - time[k]) / DAY_MS)) * 365.25 * 10) / 10;
  });
  return { days, mbPerYear };
}

export const ASSESSMENT_WORDS: Record<GrowthReport['assessment'], string> = {
  normal: 'normal',
  'above normal': 'above normal',
  investigate: 'investigate',
  'not enough history': 'too little history',
};

/** Ticks of the logarithmic MB-a-year axis: powers of ten and the guide's thresholds. */
export const RATE_TICKS: ReadonlySet<number> = new Set([0.01, 0.1, 1, 10, 50, 100, 500, 1000, 10000]);

/** Tables of a file, biggest first. */
export function tablesBySize(file: GrowthFile): GrowthFile['tables'] {
  return [...file.tables].sort((a, b) => b.bytes - a.bytes || a.table.localeCompare(b.table));
}
