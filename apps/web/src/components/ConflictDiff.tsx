'use client';

import { useState, type FormEvent } from 'react';
import { api, type ApiError } from '../lib/api';
import {
  canChooseFields,
  canKeepLoser,
  fieldDiffs,
  formatValue,
  keptSide,
  kindLabel,
  otherSide,
  resolutionBody,
  rowLabel,
  type ConflictView,
  type ResolutionMode,
  type Side,
} from '../lib/conflicts';
import { formatDateTime } from '../lib/format';
import { asApiError } from '../lib/hooks';
import ErrorNotice from './ErrorNotice';
import '../styles/conflicts.css';

function sideTitle(side: Side): string {
  return side === 'server' ? 'Master (before the sync)' : 'Workstation';
}

function sideWho(c: ConflictView, side: Side): string {
  if (side === 'server') {
    return c.serverUpdatedBy
      ? `${c.serverUpdatedBy}, ${c.serverUpdatedAt ? formatDateTime(c.serverUpdatedAt) : 'time unknown'}`
      : 'unknown';
  }
  return `${c.clientUser} on ${c.clientId}, ${formatDateTime(c.clientUpdatedAt)}`;
}

/**
 * Both versions of one conflict side by side, the differing fields highlighted (and said in words),
 * and for admins the resolution: keep the version the master holds, take the other one, or choose
 * each conflicting field.
 */
export default function ConflictDiff({
  conflict: c,
  canResolve,
  onResolved,
  onClose,
}: {
  conflict: ConflictView;
  canResolve: boolean;
  onResolved: (resolved: ConflictView, sentence: string) => void;
  onClose: () => void;
}) {
  const kept = keptSide(c);
  const fields = fieldDiffs(c);
  const [showSame, setShowSame] = useState(false);
  const [mode, setMode] = useState<ResolutionMode>('winner');
  const [choices, setChoices] = useState<Record<string, Side>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const shown = showSame ? fields : fields.filter((f) => f.differs || f.conflicting);
  const sameCount = fields.length - fields.filter((f) => f.differs || f.conflicting).length;
  const chooseFields = canResolve && mode === 'fields';
  const headingId = `conflict-${c.id}-heading`;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const resolved = await api.post<ConflictView>(`/api/v1/conflicts/${c.id}/resolve`, resolutionBody(c, mode, choices));
      const how =
        mode === 'winner'
          ? `kept the ${kept === 'server' ? 'master' : 'workstation'} version`
          : mode === 'loser'
            ? `took the ${kept === 'server' ? 'workstation' : 'master'} version`
            : 'merged field by field';
      onResolved(resolved, `Conflict ${c.id} (${c.table} ${rowLabel(c)}) resolved: ${how}.`);
    } catch (err) {
      setError(asApiError(err));
      setBusy(false);
    }
  }

  return (
    <section className="card conflict-detail" aria-labelledby={headingId} data-testid="conflict-detail" data-conflict={c.id}>
      <div className="conflict-detail-head">
        <h2 id={headingId} tabIndex={-1}>
          Conflict {c.id}: {c.table} <span className="mono">{rowLabel(c)}</span>
        </h2>
        <button className="button button-secondary button-small" type="button" onClick={onClose}>
          Close
        </button>
      </div>
      <p className="muted small">
        {kindLabel(c)} · detected {formatDateTime(c.detectedAt)} · row id <span className="mono">{c.rowId}</span> · the master kept the{' '}
        <strong>{kept === 'server' ? 'master' : 'workstation'}</strong> version of {c.columns.length > 0 ? c.columns.join(', ') : 'the row'}{' '}
        (the later edit).
      </p>

      <div className="table-wrap">
        <table className="data conflict-diff" data-testid="conflict-diff">
          <caption className="visually-hidden">Both versions of conflict {c.id}; differing fields are marked.</caption>
          <thead>
            <tr>
              <th scope="col">Field</th>
              {(['server', 'client'] as const).map((side) => (
                <th scope="col" key={side} className="conflict-side">
                  {sideTitle(side)}
                  {side === kept ? <span className="status-pill status-ok conflict-kept">kept</span> : null}
                  <span className="conflict-who">{sideWho(c, side)}</span>
                </th>
              ))}
              {chooseFields ? <th scope="col">Use</th> : null}
            </tr>
          </thead>
          <tbody>
            {shown.map((f) => {
              const choice = choices[f.name] ?? kept;
              return (
                <tr
                  key={f.name}
                  data-field={f.name}
                  data-differs={f.differs ? 'true' : 'false'}
                  className={f.conflicting ? 'diff-conflict' : f.differs ? 'diff-other' : undefined}
                >
                  <th scope="row" className="mono">
                    {f.name}
                    {f.conflicting ? (
                      <span className="diff-tag">changed on both</span>
                    ) : f.differs ? (
                      <span className="diff-tag diff-tag-other">differs</span>
                    ) : null}
                  </th>
                  <td className={`diff-value${chooseFields && f.conflicting && choice === 'server' ? ' diff-chosen' : ''}`}>
                    {formatValue(f.server)}
                  </td>
                  <td className={`diff-value${chooseFields && f.conflicting && choice === 'client' ? ' diff-chosen' : ''}`}>
                    {formatValue(f.client)}
                  </td>
                  {chooseFields ? (
                    <td>
                      {f.conflicting ? (
                        <fieldset className="field-choice">
                          <legend className="visually-hidden">Value of {f.name}</legend>
                          {(['server', 'client'] as const).map((side) => (
                            <label key={side}>
                              <input
                                type="radio"
                                name={`field-${c.id}-${f.name}`}
                                value={side}
                                checked={choice === side}
                                onChange={() => setChoices((prev) => ({ ...prev, [f.name]: side }))}
                                aria-label={`${f.name}: use the ${side === 'server' ? 'master' : 'workstation'} value`}
                              />
                              {side === 'server' ? 'Master' : 'Workstation'}
                            </label>
                          ))}
                        </fieldset>
                      ) : (
                        <span className="muted small">{f.differs ? 'merged by the sync' : ''}</span>
                      )}
                    </td>
                  ) : null}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {sameCount > 0 ? (
        <label className="diff-toggle small">
          <input type="checkbox" checked={showSame} onChange={(e) => setShowSame(e.target.checked)} /> Show the {sameCount} fields that are
          the same
        </label>
      ) : null}

      {canResolve ? (
        <form className="resolve-form" onSubmit={submit} aria-label={`Resolve conflict ${c.id}`}>
          <fieldset>
            <legend>Resolution</legend>
            <label>
              <input type="radio" name={`mode-${c.id}`} value="winner" checked={mode === 'winner'} onChange={() => setMode('winner')} />
              Keep the {kept === 'server' ? 'master' : 'workstation'} version (what the master holds now)
            </label>
            {canKeepLoser(c) ? (
              <label>
                <input type="radio" name={`mode-${c.id}`} value="loser" checked={mode === 'loser'} onChange={() => setMode('loser')} />
                Keep the {otherSide(kept) === 'server' ? 'master' : 'workstation'} version instead
              </label>
            ) : null}
            {canChooseFields(c) ? (
              <label>
                <input type="radio" name={`mode-${c.id}`} value="fields" checked={mode === 'fields'} onChange={() => setMode('fields')} />
                Choose field by field
              </label>
            ) : null}
          </fieldset>
          {error ? <ErrorNotice error={error} lead="The conflict was not resolved." /> : null}
          <div className="form-actions">
            <button className="button" type="submit" disabled={busy} aria-busy={busy}>
              Resolve conflict
            </button>
            <span className="muted small">The result syncs to every workstation.</span>
          </div>
        </form>
      ) : (
        <p className="muted small" data-testid="conflict-read-only">
          Read-only: administrators resolve conflicts.
        </p>
      )}
    </section>
  );
}
