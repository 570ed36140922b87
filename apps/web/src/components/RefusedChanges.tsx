'use client';

import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { api, type ApiError } from '../lib/api';
import { formatDateTime } from '../lib/format';
import { asApiError, useApi, useCurrentUser } from '../lib/hooks';
import { useOps, useOpsEvent } from '../lib/ops';
import {
  LIST_LIMIT,
  REFUSAL_FILTERS,
  SYNC_INFO_PATH,
  addedField,
  canFix,
  canTakeAsSent,
  columnHint,
  fieldOfError,
  fixBody,
  fixableColumns,
  fullValue,
  initialFields,
  isLongText,
  reasonText,
  refusalPath,
  refusalsPath,
  statusLabel,
  targetLabel,
  visibleRefusals,
  type FixField,
  type RefusalFilter,
  type RefusalView,
  type SyncInfoResponse,
} from '../lib/refusals';
import ConfirmDialog from './ConfirmDialog';
import ErrorNotice from './ErrorNotice';
import '../styles/accounts.css';
import '../styles/refusals.css';

const NONE_OPEN = 'No refused changes: every workstation’s changes reached the master.';

function SkeletonRows({ label }: { label: string }) {
  return (
    <div role="status" aria-live="polite">
      <span className="visually-hidden">{label}</span>
      <div aria-hidden="true" className="refusal-skeleton">
        {Array.from({ length: 4 }, (_, i) => (
          <span className="skeleton" key={i} style={{ width: `${90 - i * 12}%` }} />
        ))}
      </div>
    </div>
  );
}

/** A row's name for people, when the workstation sent one: its number, SKU or name. */
function rowName(r: RefusalView): string | null {
  for (const key of ['quoteNumber', 'projectNumber', 'sku', 'name', 'title']) {
    const value = r.values?.[key];
    if (typeof value === 'string' && value.trim()) return value;
  }
  return null;
}

/** "customers.type of r-type" / "… of Lower case": which change an action button is for. */
function actionTarget(r: RefusalView): string {
  return `${targetLabel(r)} of ${rowName(r) ?? r.rowId}`;
}

/** The Refused changes page: what workstations hold back because the master refused it, and (admins) what to do with each. */
export default function RefusedChanges() {
  const user = useCurrentUser();
  const admin = user?.role === 'admin';
  const filterId = useId();
  const [filter, setFilter] = useState<RefusalFilter>('open');

  return (
    <div data-testid="refused-changes" className="refusals-page">
      <div className="page-head">
        <h1>Refused changes</h1>
        {admin ? (
          <span className="muted small">New refusals appear as workstations sync.</span>
        ) : (
          <span className="muted small" data-testid="read-only-note">
            Read-only: administrators act on refused changes.
          </span>
        )}
      </div>
      <p className="muted small refusals-lead">
        A change the master refuses (a value a column does not accept) stays held back on its workstation, which sends the rest. Take the
        value as sent where only a rule of the column refused it, fix it and send it, or discard it (the master keeps its row): the
        workstation takes the outcome at its next sync.
      </p>

      <div className="card refusal-filters">
        <div className="field">
          <label htmlFor={filterId}>Show</label>
          <select id={filterId} value={filter} onChange={(e) => setFilter(e.target.value as RefusalFilter)} data-testid="refusals-filter">
            {REFUSAL_FILTERS.map((f) => (
              <option key={f.value} value={f.value}>
                {f.label}
              </option>
            ))}
          </select>
        </div>
      </div>

      {/* A new filter is a new list: nothing of the previous one (rows, forms, errors) carries over. */}
      <RefusalList key={filter} filter={filter} admin={admin} />
    </div>
  );
}

function RefusalList({ filter, admin }: { filter: RefusalFilter; admin: boolean }) {
  const { epoch } = useOps();
  const list = useApi<RefusalView[]>(refusalsPath(filter));
  const reloadList = list.reload;
  /** Views the actions answered with: a closed refusal leaves the open list before the list is read again. */
  const [updated, setUpdated] = useState<ReadonlyMap<number, RefusalView>>(new Map());
  const [fixing, setFixing] = useState<number | null>(null);
  const [discarding, setDiscarding] = useState<RefusalView | null>(null);
  const [busy, setBusy] = useState<number | null>(null);
  const [actionError, setActionError] = useState<{ lead: string; error: ApiError } | null>(null);
  const [announcement, setAnnouncement] = useState('');
  const [fresh, setFresh] = useState<ReadonlySet<number>>(new Set());
  const heading = useRef<HTMLHeadingElement>(null);
  /** After a discard its button is gone, so focus goes to the heading; after Cancel, back to the button. */
  const focusHeading = useRef(false);
  const firstEpoch = useRef(epoch);
  const seen = useRef<Set<number> | null>(null);

  // After a reconnect, events may have been missed: load the list again.
  useEffect(() => {
    if (epoch !== firstEpoch.current) reloadList();
  }, [epoch, reloadList]);

  // A refusal was recorded, fixed or resolved (here, by another admin, or by its workstation).
  useOpsEvent('refusals.changed', () => reloadList());

  // Refusals that arrive after the first load are marked and announced.
  useEffect(() => {
    if (!list.data) return;
    if (seen.current === null) {
      seen.current = new Set(list.data.map((r) => r.id));
      return;
    }
    const known = seen.current;
    const added = list.data.filter((r) => !known.has(r.id) && r.status === 'open');
    for (const r of list.data) known.add(r.id);
    if (added.length === 0) return;
    setFresh((prev) => new Set([...prev, ...added.map((r) => r.id)]));
    const r = added[0];
    setAnnouncement(
      added.length === 1
        ? `New refused change ${r.id}: ${targetLabel(r)} from ${r.user} on ${r.clientId}.`
        : `${added.length} new refused changes.`,
    );
  }, [list.data]);

  const items = visibleRefusals(list.data, updated, filter);
  const showStatus = filter !== 'open';
  // The open list has a column of buttons; with a status column, an open refusal's buttons sit under its status.
  const withActions = admin && !showStatus && items.length > 0;
  const columns = 5 + (showStatus ? 1 : 0) + (withActions ? 1 : 0);

  function closed(done: RefusalView) {
    setUpdated((prev) => new Map(prev).set(done.id, done));
    setFixing(null);
    setActionError(null);
    setAnnouncement(`Refused change ${done.id}: ${done.resolution ?? statusLabel(done.status)}`);
    heading.current?.focus();
    reloadList();
  }

  function failed(lead: string, err: unknown) {
    const error = asApiError(err);
    setActionError({ lead, error });
    // Closed meanwhile (another admin, or its workstation sent it again): show what it is now.
    if (error.code === 'ALREADY_RESOLVED' || error.status === 404) reloadList();
  }

  async function takeAsSent(r: RefusalView) {
    setBusy(r.id);
    setActionError(null);
    try {
      closed(await api.post<RefusalView>(refusalPath(r.id, 'accept')));
    } catch (err) {
      failed(`Refused change ${r.id} was not taken as sent.`, err);
    } finally {
      setBusy(null);
    }
  }

  async function discard(r: RefusalView) {
    setBusy(r.id);
    setActionError(null);
    try {
      const done = await api.post<RefusalView>(refusalPath(r.id, 'discard'));
      focusHeading.current = true;
      setDiscarding(null);
      closed(done);
    } catch (err) {
      focusHeading.current = false;
      setDiscarding(null);
      failed(`Refused change ${r.id} was not discarded.`, err);
    } finally {
      setBusy(null);
    }
  }

  let content;
  if (list.loading && !list.data) {
    content = <SkeletonRows label="Loading the refused changes…" />;
  } else if (list.error && !list.data) {
    content = <ErrorNotice error={list.error} onRetry={list.reload} lead="The refused changes could not be loaded." />;
  } else if (items.length === 0) {
    content = (
      <p className="muted" data-testid="no-refusals">
        {filter === 'resolved' ? 'No refused change has been resolved yet.' : NONE_OPEN}
      </p>
    );
  } else {
    content = (
      <>
        {list.error ? <ErrorNotice error={list.error} onRetry={list.reload} lead="The latest refresh failed." /> : null}
        <div className="table-wrap">
          <table className="data refusals-table" data-testid="refusals-table">
            <caption className="visually-hidden">Refused changes ({filter}), newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">From</th>
                <th scope="col">Row</th>
                <th scope="col">Column and refused value</th>
                <th scope="col">Reason</th>
                {showStatus ? <th scope="col">Status</th> : null}
                {withActions ? (
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {items.map((r) => (
                <RefusalRow
                  key={r.id}
                  refusal={r}
                  showStatus={showStatus}
                  withActions={withActions}
                  admin={admin}
                  columns={columns}
                  fresh={fresh.has(r.id)}
                  fixing={fixing === r.id}
                  busy={busy === r.id}
                  onTake={() => takeAsSent(r)}
                  onFix={() => {
                    setActionError(null);
                    setFixing((id) => (id === r.id ? null : r.id));
                  }}
                  onDiscard={() => {
                    setActionError(null);
                    setDiscarding(r);
                  }}
                  onFixed={closed}
                  onFixFailed={(err) => {
                    if (err.code === 'ALREADY_RESOLVED' || err.status === 404) reloadList();
                  }}
                  onCancelFix={() => setFixing(null)}
                />
              ))}
            </tbody>
          </table>
        </div>
        {(list.data?.length ?? 0) >= LIST_LIMIT ? <p className="muted small">Showing the newest {LIST_LIMIT} refused changes.</p> : null}
      </>
    );
  }

  const filterLabel = REFUSAL_FILTERS.find((f) => f.value === filter)!.label;
  return (
    <section className="card" aria-labelledby="refusals-heading">
      <h2 id="refusals-heading" tabIndex={-1} ref={heading} data-testid="refusals-heading">
        {filterLabel} refused changes{list.data ? ` (${items.length})` : ''}
      </h2>
      <p className="refusals-announce small" role="status" aria-live="polite" data-testid="refusals-announcement">
        {announcement}
      </p>
      {actionError ? <ErrorNotice error={actionError.error} lead={actionError.lead} /> : null}
      {content}

      {discarding ? (
        <ConfirmDialog
          title={`Discard refused change ${discarding.id}?`}
          confirmLabel="Discard change"
          busy={busy === discarding.id}
          onCancel={() => {
            focusHeading.current = false;
            setDiscarding(null);
          }}
          onConfirm={() => discard(discarding)}
          returnFocus={() => (focusHeading.current ? heading.current : null)}
        >
          <p>
            The master keeps its version of {discarding.table} <span className="mono">{rowName(discarding) ?? discarding.rowId}</span>;{' '}
            {discarding.user}’s change from {discarding.clientId}
            {discarding.column ? (
              <>
                {' '}
                (<span className="mono">{discarding.column}</span>)
              </>
            ) : null}{' '}
            is dropped.
          </p>
          <p className="muted small">
            Both versions go to the audit log. The workstation lets go of the change and takes the master’s row at its next sync.
          </p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}

function RefusalRow({
  refusal: r,
  showStatus,
  withActions,
  admin,
  columns,
  fresh,
  fixing,
  busy,
  onTake,
  onFix,
  onDiscard,
  onFixed,
  onFixFailed,
  onCancelFix,
}: {
  refusal: RefusalView;
  showStatus: boolean;
  withActions: boolean;
  admin: boolean;
  columns: number;
  fresh: boolean;
  fixing: boolean;
  busy: boolean;
  onTake: () => void;
  onFix: () => void;
  onDiscard: () => void;
  onFixed: (done: RefusalView) => void;
  onFixFailed: (error: ApiError) => void;
  onCancelFix: () => void;
}) {
  const full = fullValue(r);
  const name = rowName(r);
  const open = r.status === 'open';
  const formId = `refusal-${r.id}-fix`;
  const fixButton = useRef<HTMLButtonElement>(null);
  const actions =
    admin && open ? (
      <div className="refusal-buttons">
        {canTakeAsSent(r) ? (
          <button
            className="button button-secondary button-small"
            type="button"
            disabled={busy}
            aria-busy={busy}
            aria-label={`Take as sent: ${actionTarget(r)}`}
            onClick={onTake}
          >
            Take as sent
          </button>
        ) : null}
        {canFix(r) ? (
          <button
            ref={fixButton}
            className="button button-secondary button-small"
            type="button"
            disabled={busy}
            aria-expanded={fixing}
            aria-controls={fixing ? formId : undefined}
            aria-label={`Fix and send: ${actionTarget(r)}`}
            onClick={onFix}
          >
            Fix and send…
          </button>
        ) : null}
        <button
          className="button button-secondary button-small button-warn"
          type="button"
          disabled={busy}
          aria-label={`Discard: ${actionTarget(r)}`}
          onClick={onDiscard}
        >
          Discard…
        </button>
      </div>
    ) : null;
  return (
    <>
      <tr
        data-testid="refusal-row"
        data-refusal={r.id}
        data-table={r.table}
        data-row={r.rowId}
        data-column={r.column ?? ''}
        data-status={r.status}
        className={`${fixing ? 'refusal-selected' : ''}${fresh ? ' refusal-new' : ''}`}
      >
        <td>
          {formatDateTime(r.lastSeenAt)}
          {r.times > 1 ? (
            <span className="refusal-times" title={`Refused ${r.times} times, first ${formatDateTime(r.firstSeenAt)}`}>
              {' '}
              <span aria-hidden="true">×{r.times}</span>
              <span className="visually-hidden">(refused {r.times} times)</span>
            </span>
          ) : null}
        </td>
        <td className="refusal-from">
          <span data-testid="refusal-user">{r.user}</span>
          <span className="mono muted small refusal-block" data-testid="refusal-workstation" title={`Workstation ${r.clientId}`}>
            {r.clientId}
          </span>
        </td>
        <td className="refusal-where">
          <span className="mono">{r.table}</span>
          {name ? <span className="refusal-name refusal-block">{name}</span> : null}
          <span className="mono muted small refusal-block refusal-id" title={`Row id ${r.rowId}`}>
            {r.rowId}
          </span>
        </td>
        <td className="refusal-what">
          <span className="mono refusal-column refusal-block" data-testid="refusal-column">
            {r.op === 'delete' ? <span className="muted">(delete)</span> : (r.column ?? <span className="muted">—</span>)}
          </span>
          {full === null ? (
            <span className="muted" data-testid="refused-value">
              —
            </span>
          ) : (
            <>
              <span className="mono refusal-value" title={full} data-testid="refused-value">
                {r.value ?? full}
              </span>
              {full.length > 60 ? <span className="muted small refusal-block">{full.length.toLocaleString()} characters</span> : null}
            </>
          )}
        </td>
        <td className="wrap refusal-reason" data-testid="refusal-reason">
          {reasonText(r)} <span className="mono muted small">{r.code}</span>
        </td>
        {showStatus ? (
          <td className="wrap refusal-status" data-testid="refusal-status">
            <span className={`status-pill refusal-pill-${r.status}`}>{statusLabel(r.status)}</span>
            {r.resolvedBy || r.resolvedAt ? (
              <span className="muted small refusal-block" data-testid="refusal-resolved-by">
                {r.resolvedBy ? `by ${r.resolvedBy}` : ''}
                {r.resolvedBy && r.resolvedAt ? ', ' : ''}
                {r.resolvedAt ? formatDateTime(r.resolvedAt) : ''}
              </span>
            ) : null}
            {r.resolution ? (
              <span className="small refusal-block" data-testid="refusal-resolution">
                {r.resolution}
              </span>
            ) : null}
            {actions}
          </td>
        ) : null}
        {withActions ? <td className="refusal-actions">{actions}</td> : null}
      </tr>
      {fixing ? (
        <tr className="refusal-fix-row">
          <td colSpan={columns}>
            <FixForm
              id={formId}
              refusal={r}
              onSent={onFixed}
              onFailed={onFixFailed}
              onCancel={() => {
                onCancelFix();
                fixButton.current?.focus();
              }}
            />
          </td>
        </tr>
      ) : null}
    </>
  );
}

/**
 * "Fix and send": one input per column to send (the refused one first, prefilled with what the
 * workstation sent), more columns on request; the server checks them by the column rules.
 */
function FixForm({
  id,
  refusal: r,
  onSent,
  onFailed,
  onCancel,
}: {
  id: string;
  refusal: RefusalView;
  onSent: (done: RefusalView) => void;
  onFailed: (error: ApiError) => void;
  onCancel: () => void;
}) {
  const info = useApi<SyncInfoResponse>(SYNC_INFO_PATH);
  const table = info.data?.tables.find((t) => t.name === r.table);
  const columnInfo = new Map((table?.columns ?? []).map((c) => [c.name, c]));
  const [fields, setFields] = useState<FixField[]>(() => initialFields(r));
  const [adding, setAdding] = useState('');
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const formRef = useRef<HTMLFormElement>(null);
  const focusColumn = useRef<string | null>(null);
  const addable = fixableColumns(r, table).filter((c) => !fields.some((f) => f.column === c));
  const invalid = error ? fieldOfError(error.message, r.table, fields) : undefined;
  const inputId = (column: string) => `${id}-${column}`;

  // Keyboard and screen-reader users land in the first input (or the column picker when there is none).
  useEffect(() => {
    formRef.current?.querySelector<HTMLElement>('input, textarea, select')?.focus();
  }, []);

  // A column just added gets the focus.
  useEffect(() => {
    if (!focusColumn.current) return;
    document.getElementById(inputId(focusColumn.current))?.focus();
    focusColumn.current = null;
  });

  function setText(column: string, text: string) {
    setFields((prev) => prev.map((f) => (f.column === column ? { ...f, text } : f)));
  }

  function add() {
    const column = adding || addable[0];
    if (!column) return;
    setFields((prev) => [...prev, addedField(r, column)]);
    setAdding('');
    focusColumn.current = column;
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (sending || fields.length === 0) return;
    setSending(true);
    setError(null);
    try {
      onSent(await api.post<RefusalView>(refusalPath(r.id, 'resubmit'), fixBody(r, fields, table)));
    } catch (err) {
      const apiError = asApiError(err);
      setError(apiError);
      setSending(false);
      onFailed(apiError);
      const named = fieldOfError(apiError.message, r.table, fields);
      if (named) document.getElementById(inputId(named))?.focus();
    }
  }

  return (
    <form
      ref={formRef}
      id={id}
      className="refusal-fix"
      onSubmit={submit}
      noValidate
      aria-labelledby={`${id}-title`}
      data-testid="refusal-fix-form"
      data-refusal={r.id}
      onKeyDown={(e) => {
        if (e.key === 'Escape' && !sending) {
          e.preventDefault();
          onCancel();
        }
      }}
    >
      <h3 id={`${id}-title`}>
        Fix refused change {r.id}: {r.table} <span className="mono">{rowName(r) ?? r.rowId}</span>
      </h3>
      <p className="muted small">
        The change is sent to the master with these values, checked by the column rules like any sync; {r.clientId} takes the result at its
        next sync.
      </p>
      <fieldset className="refusal-fix-fields" disabled={sending}>
        <legend className="visually-hidden">Values to send</legend>
        {fields.map((f) => {
          const col = columnInfo.get(f.column);
          const fid = inputId(f.column);
          const hint = columnHint(col);
          const count =
            col?.maxLength !== undefined && (col.type === 'text' || col.type === 'json')
              ? `${f.text.length.toLocaleString()} of ${col.maxLength.toLocaleString()} characters.`
              : '';
          const bad = invalid === f.column;
          const described = [hint || count ? `${fid}-hint` : '', bad ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
          const common = {
            id: fid,
            name: f.column,
            'aria-invalid': bad ? true : undefined,
            'aria-describedby': described,
          };
          return (
            <div className={`field refusal-fix-field${bad ? ' refusal-field-invalid' : ''}`} key={f.column} data-column={f.column}>
              <label htmlFor={fid} className="mono">
                {f.column}
                {f.column === r.column ? <span className="refusal-refused-tag">refused</span> : null}
              </label>
              {col?.type === 'boolean' ? (
                <select {...common} value={f.text} onChange={(e) => setText(f.column, e.target.value)}>
                  <option value="">(empty)</option>
                  <option value="true">true</option>
                  <option value="false">false</option>
                  {f.text !== '' && !['true', 'false'].includes(f.text) ? <option value={f.text}>{f.text}</option> : null}
                </select>
              ) : isLongText(col, f.text) ? (
                <textarea
                  {...common}
                  className="mono"
                  rows={4}
                  spellCheck={false}
                  value={f.text}
                  onChange={(e) => setText(f.column, e.target.value)}
                />
              ) : (
                <>
                  <input
                    {...common}
                    type="text"
                    className="mono"
                    autoComplete="off"
                    spellCheck={false}
                    inputMode={col?.type === 'integer' ? 'numeric' : col?.type === 'real' ? 'decimal' : undefined}
                    list={col?.values?.length ? `${fid}-values` : undefined}
                    value={f.text}
                    onChange={(e) => setText(f.column, e.target.value)}
                  />
                  {col?.values?.length ? (
                    <datalist id={`${fid}-values`}>
                      {col.values.map((v) => (
                        <option key={v} value={v} />
                      ))}
                    </datalist>
                  ) : null}
                </>
              )}
              {hint || count ? (
                <span id={`${fid}-hint`} className="muted small">
                  {hint} {count}
                </span>
              ) : null}
              {f.column !== r.column ? (
                <button
                  className="button button-secondary button-small refusal-remove"
                  type="button"
                  onClick={() => setFields((prev) => prev.filter((x) => x.column !== f.column))}
                  aria-label={`Remove ${f.column}`}
                >
                  Remove
                </button>
              ) : null}
            </div>
          );
        })}
        {addable.length > 0 ? (
          <div className="refusal-add">
            <div className="field">
              <label htmlFor={`${id}-add`}>{fields.length ? 'Add another column' : 'Column to send'}</label>
              <select id={`${id}-add`} value={adding || addable[0]} onChange={(e) => setAdding(e.target.value)}>
                {addable.map((c) => (
                  <option key={c} value={c}>
                    {c}
                  </option>
                ))}
              </select>
            </div>
            <button className="button button-secondary button-small" type="button" onClick={add}>
              Add column
            </button>
          </div>
        ) : null}
      </fieldset>
      {info.error && !info.data ? (
        <p className="muted small">The column types could not be loaded ({info.error.message}); values are sent as typed.</p>
      ) : null}
      {error ? (
        <div id={`${id}-error`} data-testid="refusal-fix-error">
          <ErrorNotice error={error} lead="The fixed change was not sent." />
        </div>
      ) : null}
      <div className="form-actions">
        <button className="button" type="submit" disabled={sending || fields.length === 0} aria-busy={sending}>
          Send fixed change
        </button>
        <button className="button button-secondary" type="button" onClick={onCancel} disabled={sending}>
          Cancel
        </button>
      </div>
    </form>
  );
}
