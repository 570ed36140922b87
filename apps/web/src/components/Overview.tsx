'use client';

import type { ReactNode } from 'react';
import { formatBytes, formatDateTime, formatDuration, shortId } from '../lib/format';
import { useLiveness, useReadiness } from '../lib/hooks';
import ErrorNotice from './ErrorNotice';

type TileKey = 'status' | 'uptime' | 'version' | 'sqlite' | 'generation' | 'protocol';

function Tile({ id, label, title, children }: { id: TileKey; label: string; title?: string; children: ReactNode }) {
  return (
    <li className="tile" data-testid={`tile-${id}`}>
      <span className="tile-label">{label}</span>
      <span className="tile-value" title={title}>
        {children}
      </span>
    </li>
  );
}

function LoadingTiles() {
  return (
    <div role="status" aria-live="polite">
      <span className="visually-hidden">Loading server health…</span>
      <ul className="tiles" aria-hidden="true">
        {Array.from({ length: 6 }, (_, i) => (
          <li className="tile" key={i}>
            <span className="skeleton" style={{ width: '50%', height: '0.8rem' }} />
            <span className="skeleton" style={{ width: '75%' }} />
          </li>
        ))}
      </ul>
    </div>
  );
}

export default function Overview() {
  const live = useLiveness();
  const ready = useReadiness();

  const retry = () => {
    live.reload();
    ready.reload();
  };

  const hasAnyData = live.data !== undefined || ready.data !== undefined;
  const firstError = live.error ?? ready.error;
  const ok = live.data?.status === 'ok' && ready.data?.ready === true && !live.error && !ready.error;

  let content: ReactNode;
  if (!hasAnyData && (live.loading || ready.loading) && !firstError) {
    content = <LoadingTiles />;
  } else if (!hasAnyData && firstError) {
    content = <ErrorNotice error={firstError} onRetry={retry} lead="Server health could not be loaded." />;
  } else {
    const files = ready.data?.files ?? [];
    content = (
      <>
        {firstError ? <ErrorNotice error={firstError} onRetry={retry} lead="The latest refresh failed." /> : null}
        <ul className="tiles" aria-label="Server health">
          <Tile id="status" label="Server status">
            <span className={`status-pill ${ok ? 'status-ok' : 'status-bad'}`}>{ok ? 'ok' : 'not ready'}</span>
          </Tile>
          <Tile id="uptime" label="Uptime">
            {live.data ? formatDuration(live.data.uptimeSeconds) : '—'}
          </Tile>
          <Tile id="version" label="Version">
            {live.data?.version ?? '—'}
          </Tile>
          <Tile id="sqlite" label="SQLite version">
            {ready.data?.sqliteVersion ?? '—'}
          </Tile>
          <Tile id="generation" label="Generation" title={ready.data?.generation}>
            <span className="mono">{ready.data ? shortId(ready.data.generation) : '—'}</span>
          </Tile>
          <Tile id="protocol" label="Protocol version">
            {ready.data?.protocolVersion ?? '—'}
          </Tile>
        </ul>

        <section className="card" aria-labelledby="files-heading">
          <h2 id="files-heading">Database files</h2>
          {ready.data ? (
            files.length > 0 ? (
              <div className="table-wrap">
                <table className="data" data-testid="files-table">
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">State</th>
                      <th scope="col" className="num">
                        Size
                      </th>
                      <th scope="col" className="num">
                        WAL size
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {files.map((file) => (
                      <tr key={file.name}>
                        <td className="mono">{file.name}</td>
                        <td>
                          <span className={`status-pill ${file.open ? 'status-ok' : 'status-bad'}`}>{file.open ? 'open' : 'closed'}</span>
                        </td>
                        <td className="num">{file.bytes === undefined ? '—' : formatBytes(file.bytes)}</td>
                        <td className="num">{file.walBytes === undefined ? '—' : formatBytes(file.walBytes)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ) : (
              <p className="muted">The server reports no database files.</p>
            )
          ) : (
            <p className="muted">Database files are not known until the server answers the readiness check.</p>
          )}
          {ready.data?.dataDir && ready.data.startedAt ? (
            <p className="muted small">
              Data directory <code>{ready.data.dataDir}</code> · started {formatDateTime(ready.data.startedAt)}
            </p>
          ) : null}
        </section>
      </>
    );
  }

  return (
    <div data-testid="overview">
      <div className="page-head">
        <h1>Overview</h1>
        <span className="muted small">Refreshes every 10 seconds.</span>
      </div>
      {content}
    </div>
  );
}
