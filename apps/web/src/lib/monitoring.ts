'use client';

import type { OpsServerEvents, WorkstationPresence } from '@cacpq/sync-protocol';
import { useEffect, useRef, useState } from 'react';
import { parseServerTime } from './format';
import { useOps } from './ops';

/* Answer shapes of /api/v1/monitoring/* and /api/v1/alerts (types only: nothing of the protocol's code reaches the bundle). */
export type {
  ActiveUserRow,
  AlertView,
  MonitoringHealth,
  SyncActivityPage,
  SyncActivityRow,
  SyncStats,
  SyncTimeline,
  SyncTimelineHour,
  UserDayRow,
  WorkstationPresence,
  WorkstationRow,
} from '@cacpq/sync-protocol';

/** A workstation that has not synced for longer than this is called out as "not syncing". */
export const STALE_SYNC_HOURS = 24;
/** Figures are fetched again this long after the last `sync.finished` of a burst. */
export const LIVE_RELOAD_DEBOUNCE_MS = 1_000;
/** Background refresh of the pages' figures (events do the rest). */
export const MONITORING_REFRESH_MS = 60_000;

/** Hours between a server time and now (or `now`). */
export function hoursSince(at: string, now: number = Date.now()): number {
  return (now - parseServerTime(at).getTime()) / 3_600_000;
}

/** "just now", "12 min ago", "5 h ago", "3 d ago". */
export function formatAge(hours: number): string {
  if (!Number.isFinite(hours)) return '—';
  if (hours < 1 / 60) return 'just now';
  if (hours < 1) return `${Math.floor(hours * 60)} min ago`;
  if (hours < 48) return `${Math.floor(hours)} h ago`;
  return `${Math.floor(hours / 24)} d ago`;
}

/** A workstation clock within this of the server's is on time (network delay and rounding are not an offset). */
export const CLOCK_ON_TIME_MS = 5_000;

/**
 * A workstation's clock against the server's (positive: ahead): "on time" within ±5 s, else
 * "1 min 20 s behind", "3 h 0 min ahead", "2 d 0 h behind"; "—" before one was measured.
 */
export function formatClockOffset(offsetMs: number | null): string {
  if (offsetMs === null || !Number.isFinite(offsetMs)) return '—';
  if (Math.abs(offsetMs) <= CLOCK_ON_TIME_MS) return 'on time';
  const s = Math.round(Math.abs(offsetMs) / 1000);
  let size: string;
  if (s < 60) size = `${s} s`;
  else if (s < 3_600) size = `${Math.floor(s / 60)} min ${s % 60} s`;
  else if (s < 86_400) size = `${Math.floor(s / 3_600)} h ${Math.floor((s % 3_600) / 60)} min`;
  else size = `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3_600)} h`;
  return `${size} ${offsetMs > 0 ? 'ahead' : 'behind'}`;
}

/** The local hour a UTC timeline bucket starts at: "14:00", with the day when the range spans days: "24 Nov 14:00". */
export function hourLabel(hour: string, withDay: boolean): string {
  const d = parseServerTime(hour);
  const time = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  return withDay ? `${d.toLocaleDateString(undefined, { day: 'numeric', month: 'short' })} ${time}` : time;
}

/** A query string from the defined values, e.g. `?from=…&status=error`; '' when none. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** Calls `reload` once after a burst of the given `/ops` events (and after every reconnect, when events may have been missed). */
export function useReloadOn(events: (keyof OpsServerEvents)[], reload: () => void, debounceMs = LIVE_RELOAD_DEBOUNCE_MS): void {
  const ref = useRef(reload);
  useEffect(() => {
    ref.current = reload;
  });
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const [tick, setTick] = useState(0);
  const { socket, epoch } = useOps();
  const key = events.join(',');
  useEffect(() => {
    if (!socket) return;
    const names = key.split(',');
    const listener = () => setTick((n) => n + 1);
    const emitter = socket as unknown as { on(e: string, l: () => void): unknown; off(e: string, l: () => void): unknown };
    for (const e of names) emitter.on(e, listener);
    return () => {
      for (const e of names) emitter.off(e, listener);
    };
  }, [socket, key]);
  useEffect(() => {
    if (tick === 0) return;
    clearTimeout(timer.current);
    timer.current = setTimeout(() => ref.current(), debounceMs);
  }, [tick, debounceMs]);
  // A reconnect after the first: what happened meanwhile is fetched again.
  const firstEpoch = useRef(epoch);
  useEffect(() => {
    if (epoch > 1 && epoch !== firstEpoch.current) ref.current();
  }, [epoch]);
  useEffect(() => () => clearTimeout(timer.current), []);
}

/** Workstations connected to `/sync` right now (kept by the `/ops` provider from its snapshot and events). */
export function usePresence(): { workstations: WorkstationPresence[]; known: boolean } {
  const { presence } = useOps();
  return { workstations: presence ?? [], known: presence !== undefined };
}
