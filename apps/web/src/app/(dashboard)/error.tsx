'use client';

import { useEffect } from 'react';
import { errorMessage } from '../../lib/api';

export default function DashboardError({ error, retry }: { error: unknown; retry: () => void }) {
  useEffect(() => {
    console.error(error);
  }, [error]);

  return (
    <div className="alert" role="alert">
      <strong>This page could not be shown.</strong> {errorMessage(error)}
      <div className="alert-actions">
        <button className="button button-secondary" type="button" onClick={() => retry()}>
          Retry
        </button>
      </div>
    </div>
  );
}
