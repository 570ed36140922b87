'use client';

import { Chart as ChartJS, Title } from 'chart.js';
import { hourLabel, type SyncTimeline } from '../lib/monitoring';

// The monitoring charts carry a visible title (the shared Chart registers the rest).
ChartJS.register(Title);

/** Said to managers on the monitoring pages: they read, admins act. */
export function ReadOnlyNote() {
  return (
    <span className="muted small" data-testid="read-only-note">
      Read-only: you are signed in as a manager.
    </span>
  );
}

/** A skeleton for one section while its first answer is awaited, announced to screen readers. */
export function SectionLoading({ what, rows = 3 }: { what: string; rows?: number }) {
  return (
    <div role="status" aria-live="polite" data-testid="section-loading">
      <span className="visually-hidden">Loading {what}…</span>
      <div aria-hidden="true" className="mon-skeleton">
        {Array.from({ length: rows }, (_, i) => (
          <span key={i} className="skeleton" style={{ width: `${90 - i * 15}%` }} />
        ))}
      </div>
    </div>
  );
}

/** The timeline's hours as local labels; with the day when the range spans more than a day. */
export function hourLabels(t: SyncTimeline): string[] {
  const withDay = t.hours.length > 25;
  return t.hours.map((h) => hourLabel(h.hour, withDay));
}

export function sumHours(t: SyncTimeline, key: 'syncs' | 'conflicts' | 'recordsPulled' | 'recordsPushed'): number {
  return t.hours.reduce((a, h) => a + h[key], 0);
}
