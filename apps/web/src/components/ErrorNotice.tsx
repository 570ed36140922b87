'use client';

import type { ApiError } from '../lib/api';

/** The server's sentence, its request id (for the logs) and a Retry button. */
export default function ErrorNotice({ error, onRetry, lead }: { error: ApiError; onRetry?: () => void; lead?: string }) {
  return (
    <div className="alert" role="alert">
      {lead ? <strong>{lead} </strong> : null}
      {error.message}
      {error.requestId ? <span className="small"> (request {error.requestId})</span> : null}
      {onRetry ? (
        <div className="alert-actions">
          <button className="button button-secondary" type="button" onClick={onRetry}>
            Retry
          </button>
        </div>
      ) : null}
    </div>
  );
}
