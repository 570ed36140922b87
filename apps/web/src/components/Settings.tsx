'use client';

import type { AlertSettingsView, ScheduleView } from '@cacpq/sync-protocol';
import { useMemo, useState, type ReactNode } from 'react';
import { api } from '../lib/api';
import { ALERT_RULE_SETTINGS, ruleLabel } from '../lib/alerts';
import { formatDateTime } from '../lib/format';
import { useApi, useCurrentUser, type ApiState } from '../lib/hooks';
import {
  BUSINESS_HOURS_FIELDS,
  CRON_HINT,
  NOTIFICATION_FIELDS,
  put,
  RETENTION_FIELDS,
  SCHEDULE_FIELDS,
  SYNC_INTERVAL_FIELD,
  type FieldDef,
  type SettingValue,
  type SettingValues,
} from '../lib/settings';
import ErrorNotice from './ErrorNotice';
import SettingsForm from './SettingsForm';
import '../styles/operations.css';

const SYNC_FIELDS = [SYNC_INTERVAL_FIELD];

/** Per rule: its switch, then its threshold. */
const THRESHOLD_FIELDS: FieldDef[] = ALERT_RULE_SETTINGS.flatMap(({ rule, threshold }) => [
  { key: `alerts.${rule}.enabled`, label: `${ruleLabel(rule)} alert`, kind: 'checkbox' as const },
  ...(threshold ? [{ key: threshold.key, label: threshold.label, kind: 'number' as const, unit: threshold.unit }] : []),
]);

/** Loading, or the error with Retry, or the content once the answer is there. */
function Loaded<T>({ state, what, children }: { state: ApiState<T>; what: string; children: (data: T) => ReactNode }) {
  if (state.data !== undefined) return <>{children(state.data)}</>;
  if (state.error) return <ErrorNotice error={state.error} onRetry={state.reload} lead={`The ${what} could not be loaded.`} />;
  return (
    <div role="status" aria-live="polite" className="card">
      <p className="muted">Loading the {what}…</p>
    </div>
  );
}

function AlertSettings({ admin }: { admin: boolean }) {
  const state = useApi<AlertSettingsView>('/api/v1/alerts/settings');
  const [saved, setSaved] = useState<AlertSettingsView>();
  const view = saved ?? state.data;
  const values = view as unknown as SettingValues | undefined;

  async function save(patch: Record<string, SettingValue>) {
    setSaved(await api.patch<AlertSettingsView>('/api/v1/alerts/settings', patch));
  }

  return (
    <Loaded state={state} what="alert settings">
      {() => (
        <>
          <SettingsForm
            id="thresholds"
            title="Alert thresholds"
            lead={<p className="muted small">An alert opens when its figure crosses the threshold and resolves when it no longer does.</p>}
            fields={THRESHOLD_FIELDS}
            wide
            pairs
            values={values!}
            readOnly={!admin}
            save={save}
          />
          <SettingsForm
            id="business-hours"
            title="Business hours"
            lead={<p className="muted small">The no-sync alert counts only time inside business hours.</p>}
            fields={BUSINESS_HOURS_FIELDS}
            values={values!}
            readOnly={!admin}
            save={save}
          />
          <SettingsForm
            id="notifications"
            title="Notifications"
            lead={
              <p className="muted small">
                Every alert that opens or resolves is sent to the webhook and by e-mail when set. The SMTP password is write-only:
                {view?.['alerts.smtp.passwordSet'] ? ' one is stored; type a new one to replace it.' : ' none is stored.'}
              </p>
            }
            fields={NOTIFICATION_FIELDS}
            values={values!}
            readOnly={!admin}
            placeholders={{
              'alerts.smtp.password': view?.['alerts.smtp.passwordSet'] ? '•••••••• (stored; type to replace)' : 'No password stored',
            }}
            save={save}
          />
        </>
      )}
    </Loaded>
  );
}

/** Schedules and retention, the workstation sync interval, and (admins) the alert settings. */
export default function Settings() {
  const user = useCurrentUser();
  const admin = user?.role === 'admin';
  const settings = useApi<SettingValues>('/api/v1/settings');
  const schedules = useApi<ScheduleView[]>('/api/v1/maintenance/schedules');
  const reloadSchedules = schedules.reload;
  const [saved, setSaved] = useState<SettingValues>();
  const values = saved ?? settings.data;

  const nextRuns = useMemo(() => {
    const out: Record<string, string> = {};
    for (const s of schedules.data ?? []) out[s.setting] = s.nextRun ? `Next run: ${formatDateTime(s.nextRun)}.` : 'Not scheduled.';
    return out;
  }, [schedules.data]);
  const syncValues = useMemo(() => ({ intervalMinutes: values?.['sync.intervalMinutes'] ?? '' }), [values]);

  async function saveSettings(patch: Record<string, SettingValue>) {
    setSaved(await api.patch<SettingValues>('/api/v1/settings', patch));
    reloadSchedules();
  }

  async function saveInterval(patch: Record<string, SettingValue>) {
    const answer = await put<{ intervalMinutes: number }>('/api/v1/sync/settings', patch);
    setSaved({ ...(values ?? {}), 'sync.intervalMinutes': answer.intervalMinutes });
  }

  return (
    <div data-testid="settings" className="ops-page">
      <div className="page-head">
        <h1>Settings</h1>
        {admin ? null : (
          <span className="muted small" data-testid="read-only-note">
            Read-only: administrators change settings.
          </span>
        )}
      </div>
      <Loaded state={settings} what="settings">
        {() => (
          <div className="ops-columns">
            <SettingsForm
              id="sync"
              title="Workstation sync"
              lead={<p className="muted small">How often each workstation syncs on its own (the guide’s sync schedule).</p>}
              fields={SYNC_FIELDS}
              values={syncValues}
              readOnly={!admin}
              save={saveInterval}
            />
            <SettingsForm
              id="retention"
              title="Retention"
              lead={<p className="muted small">How long backups are kept, and the limits of pruning and archiving.</p>}
              fields={RETENTION_FIELDS}
              values={values!}
              readOnly={!admin}
              save={saveSettings}
            />
            <SettingsForm
              id="schedules"
              title="Schedules"
              lead={
                schedules.error ? (
                  <ErrorNotice error={schedules.error} onRetry={schedules.reload} lead="The next runs could not be loaded." />
                ) : (
                  <p className="muted small">When each backup and maintenance job runs by itself. {CRON_HINT}</p>
                )
              }
              fields={SCHEDULE_FIELDS}
              wide
              values={values!}
              readOnly={!admin}
              notes={nextRuns}
              save={saveSettings}
            />
          </div>
        )}
      </Loaded>
      <h2 className="ops-section-title">Alerts</h2>
      {admin ? (
        <div className="ops-columns">
          <AlertSettings admin={admin} />
        </div>
      ) : (
        <p className="notice" role="note" data-testid="alert-settings-admin-only">
          Alert thresholds, business hours and notification settings (webhook, e-mail) are shown to administrators only.
        </p>
      )}
    </div>
  );
}
