'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { useState } from 'react';
import { formatTime } from '../lib/format';
import { useOps } from '../lib/ops';

/**
 * Says, on every page, when the master is held for a restore, VACUUM, REINDEX or integrity check:
 * sync then answers 503 with Retry-After. The live region stays in the page so that both the start
 * and the end are announced.
 */
export default function MaintenanceBanner() {
  const { maintenance } = useOps();
  const pathname = usePathname();
  const active = maintenance?.active ? maintenance : null;
  // Remembers that maintenance was seen, so its end is announced too (then only to screen readers).
  const [wasActive, setWasActive] = useState(false);
  if (active && !wasActive) setWasActive(true);

  return (
    <div role="status" aria-live="polite" aria-atomic="true">
      {active ? (
        <div className="maintenance-banner" data-testid="maintenance-banner">
          <strong>Maintenance:</strong> {active.reason ?? 'maintenance work'} is in progress
          {active.since ? ` since ${formatTime(active.since)}` : ''} — workstations are asked to retry in {active.retryAfterSeconds} s.
          {pathname !== '/backups' ? (
            <>
              {' '}
              <Link href="/backups">Follow its progress</Link>
            </>
          ) : null}
        </div>
      ) : wasActive ? (
        <span className="visually-hidden">Maintenance has ended; workstations can sync again.</span>
      ) : null}
    </div>
  );
}
