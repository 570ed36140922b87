'use client';

import type { BackupView, JobView, RestorePreview } from '@cacpq/sync-protocol';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api, ApiError } from '../lib/api';
import { formatDateTime, plural } from '../lib/format';
import { asApiError, useApi } from '../lib/hooks';
import ErrorNotice from './ErrorNotice';

function changesSentence(n: number | null): string {
  if (n === null) return 'How many changes were made since this backup is not known.';
  if (n === 0) return 'No changes were made since this backup.';
  return `${plural(n, 'change')} ${n === 1 ? 'was' : 'were'} made since this backup; workstations give them back when they next sync.`;
}

/**
 * What restoring `backup` would do (rows per table in the backup against now, changes since),
 * then the typed confirmation phrase, then the restore job.
 */
export default function RestorePanel({
  backup,
  onCancel,
  onStarted,
}: {
  backup: BackupView;
  onCancel: () => void;
  onStarted: (job: JobView) => void;
}) {
  const preview = useApi<RestorePreview>(`/api/v1/backups/${backup.id}/preview`);
  const [typed, setTyped] = useState('');
  const [submitting, setSubmitting] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    headingRef.current?.scrollIntoView({ block: 'start' });
    headingRef.current?.focus({ preventScroll: true });
  }, [backup.id]);

  const phrase = preview.data?.confirmPhrase;
  const matches = phrase !== undefined && typed.trim() === phrase;

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (!matches || submitting) return;
    setSubmitting(true);
    setError(null);
    try {
      const job = await api.post<JobView>(`/api/v1/backups/${backup.id}/restore`, { confirm: typed.trim() });
      onStarted(job);
    } catch (err) {
      setError(asApiError(err));
      setSubmitting(false);
    }
  }

  let content;
  if (preview.loading && !preview.data) {
    content = (
      <div role="status" aria-live="polite">
        <p className="muted">Loading what the restore would change…</p>
      </div>
    );
  } else if (preview.error && !preview.data) {
    content = <ErrorNotice error={preview.error} onRetry={preview.reload} lead="The restore preview could not be loaded." />;
  } else if (preview.data) {
    const p = preview.data;
    content = (
      <>
        <p>
          This replaces the whole master database with the backup taken <strong>{formatDateTime(p.backup.createdAt)}</strong>. A pre-restore
          snapshot of the master as it is now is taken first. While the restore runs, sync answers 503 and workstations retry.
        </p>
        <p data-testid="changes-since">{changesSentence(p.changesSince)}</p>
        <div className="table-wrap">
          <table className="data" data-testid="restore-preview-table">
            <thead>
              <tr>
                <th scope="col">Table</th>
                <th scope="col" className="num">
                  Rows in the backup
                </th>
                <th scope="col" className="num">
                  Rows now
                </th>
              </tr>
            </thead>
            <tbody>
              {p.tables.map((t) => (
                <tr key={t.table} className={t.backup !== t.now ? 'differs' : undefined}>
                  <td className="mono">{t.table}</td>
                  <td className="num">{t.backup.toLocaleString()}</td>
                  <td className="num">{t.now.toLocaleString()}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <form className="restore-form" onSubmit={onSubmit} noValidate>
          <div className="field">
            <label htmlFor="restore-confirm">
              Type <code>{p.confirmPhrase}</code> to confirm
            </label>
            <input
              id="restore-confirm"
              name="confirm"
              type="text"
              autoComplete="off"
              autoCapitalize="none"
              autoCorrect="off"
              spellCheck={false}
              aria-describedby="restore-confirm-hint"
              value={typed}
              onChange={(e) => setTyped(e.target.value)}
            />
            <span id="restore-confirm-hint" className="muted small">
              The Restore button is enabled once the phrase matches exactly.
            </span>
          </div>
          {error ? <ErrorNotice error={error} lead="The restore was not started." /> : null}
          <div className="form-actions">
            <button className="button button-danger" type="submit" disabled={!matches || submitting} aria-busy={submitting}>
              Restore
            </button>
            <button className="button button-secondary" type="button" onClick={onCancel} disabled={submitting}>
              Cancel
            </button>
          </div>
        </form>
      </>
    );
  }

  return (
    <section className="card" aria-labelledby="restore-heading" data-testid="restore-panel">
      <h2 id="restore-heading" tabIndex={-1} ref={headingRef}>
        Restore from <span className="mono">{backup.name}</span>
      </h2>
      {content}
    </section>
  );
}
