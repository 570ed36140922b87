'use client';

import { useState, type FormEvent } from 'react';
import {
  AUDIT_PAGE_SIZE,
  auditPath,
  checkFilters,
  describeDetails,
  formatAuditTime,
  hasFilters,
  KNOWN_ACTIONS,
  NO_FILTERS,
  OUTCOMES,
  type AuditEntryView,
  type AuditFilters,
  type Outcome,
} from '../lib/audit';
import { useApi } from '../lib/hooks';
import ErrorNotice from './ErrorNotice';
import '../styles/accounts.css';

function outcomeClass(outcome: string): string {
  if (outcome === 'ok') return 'status-ok';
  if (outcome === 'denied') return 'status-warn';
  return 'status-bad';
}

function Filters({ initial, onApply }: { initial: AuditFilters; onApply: (f: AuditFilters) => void }) {
  const [draft, setDraft] = useState<AuditFilters>(initial);
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const set = (patch: Partial<AuditFilters>) => setDraft((f) => ({ ...f, ...patch }));

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const found = checkFilters(draft);
    setProblem(found);
    if (!found) onApply(draft);
  }

  function clear() {
    setDraft(NO_FILTERS);
    setProblem(undefined);
    onApply(NO_FILTERS);
  }

  return (
    <form className="audit-filters" onSubmit={onSubmit} aria-label="Filter the audit log" data-testid="audit-filters" noValidate>
      <div className="field">
        <label htmlFor="audit-actor">Actor</label>
        <input
          id="audit-actor"
          value={draft.actor}
          onChange={(e) => set({ actor: e.target.value })}
          autoComplete="off"
          spellCheck={false}
          placeholder="username"
        />
      </div>
      <div className="field">
        <label htmlFor="audit-action">Action</label>
        <input
          id="audit-action"
          list="audit-actions"
          value={draft.action}
          onChange={(e) => set({ action: e.target.value })}
          autoComplete="off"
          spellCheck={false}
          placeholder="any"
        />
        <datalist id="audit-actions">
          {KNOWN_ACTIONS.map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
      </div>
      <div className="field">
        <label htmlFor="audit-outcome">Outcome</label>
        <select id="audit-outcome" value={draft.outcome} onChange={(e) => set({ outcome: e.target.value as '' | Outcome })}>
          <option value="">any</option>
          {OUTCOMES.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="audit-from">From (day)</label>
        <input
          id="audit-from"
          type="date"
          value={draft.fromDate}
          onChange={(e) => set({ fromDate: e.target.value })}
          aria-invalid={problem ? true : undefined}
          aria-describedby={problem ? 'audit-filter-problem' : undefined}
        />
      </div>
      <div className="field">
        <label htmlFor="audit-to">To (day, included)</label>
        <input
          id="audit-to"
          type="date"
          value={draft.toDate}
          onChange={(e) => set({ toDate: e.target.value })}
          aria-invalid={problem ? true : undefined}
          aria-describedby={problem ? 'audit-filter-problem' : undefined}
        />
      </div>
      <div className="audit-filter-actions">
        <button className="button" type="submit">
          Apply filters
        </button>
        <button className="button button-secondary" type="button" onClick={clear}>
          Clear
        </button>
      </div>
      {problem ? (
        <p className="field-error audit-filter-problem" id="audit-filter-problem" role="alert">
          {problem}
        </p>
      ) : null}
    </form>
  );
}

/** Who did what, when, with which outcome: the audit log, newest first, filtered and paged. */
export default function AuditLog() {
  const [filters, setFilters] = useState<AuditFilters>(NO_FILTERS);
  /** `before` of each page opened so far: the last one is the page shown (undefined: the newest). */
  const [pages, setPages] = useState<(number | undefined)[]>([undefined]);
  const before = pages[pages.length - 1];
  const log = useApi<AuditEntryView[]>(auditPath(filters, before));
  const entries = log.data?.slice(0, AUDIT_PAGE_SIZE) ?? [];
  const hasOlder = (log.data?.length ?? 0) > AUDIT_PAGE_SIZE;
  const pageNumber = pages.length;

  function apply(f: AuditFilters) {
    setFilters(f);
    setPages([undefined]);
  }

  let content;
  if (log.loading && !log.data) {
    content = (
      <div role="status" aria-live="polite">
        <p className="muted">Loading the audit log…</p>
      </div>
    );
  } else if (log.error && !log.data) {
    content = <ErrorNotice error={log.error} onRetry={log.reload} lead="The audit log could not be loaded." />;
  } else if (entries.length === 0) {
    content = (
      <p className="muted" data-testid="no-audit">
        {hasFilters(filters) ? 'No entries match these filters.' : pageNumber > 1 ? 'No older entries.' : 'The audit log is empty.'}
      </p>
    );
  } else {
    content = (
      <div className="table-wrap">
        <table className="data audit-table" data-testid="audit-table" aria-labelledby="audit-heading">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Actor</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Outcome</th>
              <th scope="col">Details</th>
              <th scope="col">From</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.id} data-entry={e.id} data-actor={e.actor} data-action={e.action} data-outcome={e.outcome}>
                <td title={`${e.timestamp} UTC`}>{formatAuditTime(e.timestamp)}</td>
                <td>
                  {e.actor}
                  {e.actorRole ? <span className="muted small"> ({e.actorRole})</span> : null}
                </td>
                <td className="mono">{e.action}</td>
                <td className="wrap audit-target">{e.target ?? <span className="muted">—</span>}</td>
                <td>
                  <span className={`status-pill ${outcomeClass(e.outcome)}`}>{e.outcome}</span>
                </td>
                <td className="wrap audit-details" title={e.requestId ? `request ${e.requestId}` : undefined}>
                  {describeDetails(e.details)}
                </td>
                <td className="mono small">{e.ip ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    );
  }

  return (
    <div data-testid="audit" className="audit">
      <div className="page-head">
        <h1>Audit log</h1>
        <button className="button button-secondary" type="button" onClick={log.reload} disabled={log.loading}>
          Refresh
        </button>
      </div>

      <section className="card" aria-labelledby="audit-filters-heading">
        <h2 id="audit-filters-heading">Filters</h2>
        <Filters initial={filters} onApply={apply} />
      </section>

      <section className="card" aria-labelledby="audit-heading" aria-busy={log.loading} data-loading={log.loading ? 'true' : 'false'}>
        <h2 id="audit-heading">Entries</h2>
        {log.error && log.data ? <ErrorNotice error={log.error} onRetry={log.reload} lead="The latest refresh failed." /> : null}
        {content}
        <nav className="pager" aria-label="Audit log pages">
          <button
            className="button button-secondary button-small"
            type="button"
            disabled={pageNumber === 1 || log.loading}
            onClick={() => setPages((p) => p.slice(0, -1))}
          >
            Newer
          </button>
          <span className="muted small" aria-live="polite" data-testid="audit-page">
            Page {pageNumber}
            {entries.length > 0 ? ` · ${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}` : ''}
          </span>
          <button
            className="button button-secondary button-small"
            type="button"
            disabled={!hasOlder || log.loading}
            onClick={() => setPages((p) => [...p, entries[entries.length - 1].id])}
          >
            Older
          </button>
        </nav>
      </section>
    </div>
  );
}
