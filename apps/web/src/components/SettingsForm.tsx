'use client';

import { useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import type { ApiError } from '../lib/api';
import { asApiError } from '../lib/hooks';
import {
  fieldErrors,
  patchOf,
  savedSentence,
  toDraft,
  type Draft,
  type FieldDef,
  type SettingValue,
  type SettingValues,
} from '../lib/settings';
import ErrorNotice from './ErrorNotice';
import '../styles/operations.css';

function inputId(form: string, key: string): string {
  return `${form}-${key.replace(/[^A-Za-z0-9]+/g, '-')}`;
}

function Field({
  form,
  field,
  value,
  note,
  error,
  placeholder,
  onChange,
}: {
  form: string;
  field: FieldDef;
  value: string | boolean;
  note?: string;
  error?: string;
  placeholder?: string;
  onChange: (v: string | boolean) => void;
}) {
  const id = inputId(form, field.key);
  const hint = [field.hint, note].filter(Boolean).join(' ');
  const described = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  const hintEl = hint ? (
    <span id={`${id}-hint`} className="muted small">
      {hint}
    </span>
  ) : null;
  const errorEl = error ? (
    <span id={`${id}-error`} className="ops-field-error" data-testid="field-error">
      {error}
    </span>
  ) : null;
  if (field.kind === 'checkbox') {
    return (
      <div className={`ops-field ops-field-check${error ? ' ops-field-invalid' : ''}`} data-setting={field.key}>
        <input
          id={id}
          type="checkbox"
          checked={value === true}
          aria-invalid={error ? true : undefined}
          aria-describedby={described}
          onChange={(e) => onChange(e.target.checked)}
        />
        <label htmlFor={id}>{field.label}</label>
        {hintEl}
        {errorEl}
      </div>
    );
  }
  return (
    <div className={`field ops-field${error ? ' ops-field-invalid' : ''}`} data-setting={field.key}>
      <label htmlFor={id}>
        {field.label}
        {field.unit ? <span className="ops-unit"> ({field.unit})</span> : null}
      </label>
      <input
        id={id}
        name={field.key}
        type={field.kind === 'password' ? 'password' : field.kind === 'time' ? 'time' : 'text'}
        inputMode={field.kind === 'number' ? 'decimal' : undefined}
        className={field.kind === 'cron' ? 'mono' : undefined}
        autoComplete={field.kind === 'password' ? 'new-password' : 'off'}
        spellCheck={false}
        value={String(value)}
        placeholder={placeholder}
        aria-invalid={error ? true : undefined}
        aria-describedby={described}
        onChange={(e) => onChange(e.target.value)}
      />
      {hintEl}
      {errorEl}
    </div>
  );
}

/**
 * One settings form: its inputs, Save, what the API said (the sentence next to the form, and per
 * field when it names one). Only changed settings are sent. Read-only: disabled, without Save.
 */
export default function SettingsForm({
  id,
  title,
  lead,
  fields,
  values,
  readOnly,
  notes,
  placeholders,
  wide,
  pairs,
  save,
}: {
  id: string;
  title: string;
  lead?: ReactNode;
  fields: FieldDef[];
  values: SettingValues;
  readOnly: boolean;
  /** Extra text under a field (e.g. a schedule's next run). */
  notes?: Record<string, string>;
  placeholders?: Record<string, string>;
  /** Across the whole page width (more fields per row). */
  wide?: boolean;
  /** Fields come in pairs (a switch and its threshold) that stay side by side. */
  pairs?: boolean;
  save: (patch: Record<string, SettingValue>) => Promise<void>;
}) {
  const [draft, setDraft] = useState<Draft>(() => toDraft(fields, values));
  const [error, setError] = useState<ApiError | null>(null);
  const [status, setStatus] = useState('');
  const [saving, setSaving] = useState(false);

  // New values (saved here, or reloaded) replace what the inputs hold: only the fields whose own
  // value changed, so that saving another form on the page keeps what is typed here, unsaved.
  const shown = useRef(values);
  useEffect(() => {
    const before = shown.current;
    shown.current = values;
    const fresh = toDraft(fields, values);
    setDraft((d) => {
      const next: Draft = { ...d };
      for (const f of fields) if (!(f.key in d) || before[f.key] !== values[f.key]) next[f.key] = fresh[f.key];
      return next;
    });
  }, [fields, values]);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const patch = patchOf(fields, values, draft);
    const n = Object.keys(patch).length;
    setError(null);
    if (n === 0) {
      setStatus('Nothing changed.');
      return;
    }
    setSaving(true);
    setStatus('Saving…');
    try {
      await save(patch);
      // A secret just saved is not kept in its input (the API never sends it back).
      setDraft((d) => {
        const next: Draft = { ...d };
        for (const f of fields) if (f.kind === 'password' && f.key in patch) next[f.key] = '';
        return next;
      });
      setStatus(savedSentence(n));
    } catch (err) {
      setError(asApiError(err));
      setStatus('');
    } finally {
      setSaving(false);
    }
  }

  const errors = fieldErrors(
    error,
    fields.map((f) => f.key),
  );
  return (
    <section className={`card ops-form${wide ? ' ops-wide' : ''}`} aria-labelledby={`${id}-heading`} data-testid={`settings-${id}`}>
      <h2 id={`${id}-heading`}>{title}</h2>
      {lead}
      <form onSubmit={onSubmit} noValidate aria-labelledby={`${id}-heading`}>
        <fieldset disabled={readOnly || saving} className="ops-fieldset">
          <legend className="visually-hidden">{title}</legend>
          <div className={`ops-fields${pairs ? ' ops-fields-pairs' : ''}`}>
            {fields.map((f) => (
              <Field
                key={f.key}
                form={id}
                field={f}
                value={draft[f.key] ?? ''}
                note={notes?.[f.key]}
                placeholder={placeholders?.[f.key]}
                error={errors[f.key]}
                onChange={(v) => {
                  setDraft((d) => ({ ...d, [f.key]: v }));
                  setStatus('');
                }}
              />
            ))}
          </div>
        </fieldset>
        {error ? (
          <div data-testid="form-error">
            <ErrorNotice error={error} lead="Not saved." />
          </div>
        ) : null}
        {readOnly ? null : (
          <div className="form-actions">
            <button className="button" type="submit" disabled={saving} aria-busy={saving}>
              Save {title.toLowerCase()}
            </button>
          </div>
        )}
        <p className="ops-saved small" role="status" aria-live="polite" data-testid="form-status">
          {status}
        </p>
      </form>
    </section>
  );
}
