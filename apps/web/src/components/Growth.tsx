'use client';

import { Chart as ChartJS, LogarithmicScale } from 'chart.js';
import { useState } from 'react';
import { formatBytes } from '../lib/format';
import {
  ASSESSMENT_WORDS,
  GROWTH_PATH,
  RATE_TICKS,
  dailySizes,
  shortDay,
  tablesBySize,
  toMb,
  yearlyRates,
  type GrowthReport,
} from '../lib/growth';
import { useApi } from '../lib/hooks';
import Chart, { SERIES_COLOURS, STATUS_COLOURS } from './charts/Chart';
import ErrorNotice from './ErrorNotice';
import '../styles/conflicts.css';

// The projection spans orders of magnitude (a few MB a year against 50, 100 and 500): log scale.
ChartJS.register(LogarithmicScale);

const THRESHOLD_COLOURS = { low: '#17693a', high: '#b4570b', investigate: '#a32020' };

function LoadingGrowth() {
  return (
    <div role="status" aria-live="polite">
      <span className="visually-hidden">Loading growth history…</span>
      <div aria-hidden="true" className="card skeleton-stack">
        <span className="skeleton" style={{ width: '40%' }} />
        <span className="skeleton" style={{ width: '100%', height: '12rem' }} />
      </div>
    </div>
  );
}

function SizesChart({ report }: { report: GrowthReport }) {
  const { days, files } = dailySizes(report);
  return (
    <Chart
      kind="line"
      testId="growth-size-chart"
      label="Size of each database file and its WAL per day, in MB"
      empty="No size samples yet."
      height={280}
      data={{
        labels: days.map(shortDay),
        datasets: files.flatMap((f, i) => [
          {
            label: `${f.file}`,
            data: f.mb,
            borderColor: SERIES_COLOURS[i % SERIES_COLOURS.length],
            backgroundColor: SERIES_COLOURS[i % SERIES_COLOURS.length],
            pointRadius: 0,
            spanGaps: true,
          },
          {
            label: `${f.file} WAL`,
            data: f.walMb,
            borderColor: SERIES_COLOURS[i % SERIES_COLOURS.length],
            backgroundColor: SERIES_COLOURS[i % SERIES_COLOURS.length],
            borderDash: [5, 4],
            borderWidth: 1.5,
            pointRadius: 0,
            spanGaps: true,
          },
        ]),
      }}
      options={{
        interaction: { mode: 'index', intersect: false },
        scales: { y: { beginAtZero: true, title: { display: true, text: 'MB' } } },
      }}
    />
  );
}

function ProjectionChart({ report }: { report: GrowthReport }) {
  const { days, mbPerYear } = yearlyRates(report);
  const [low, high] = report.guide.normalMbPerYear;
  const limit = report.guide.investigateAboveMbPerYear;
  const flat = (value: number) => days.map(() => value);
  const threshold = (label: string, value: number, colour: string) => ({
    label,
    data: flat(value),
    borderColor: colour,
    backgroundColor: colour,
    borderDash: [8, 5],
    borderWidth: 1.5,
    pointRadius: 0,
  });
  return (
    <Chart
      kind="line"
      testId="growth-projection-chart"
      label={`Growth of all files in MB a year (trailing 7 days), with the guide's thresholds: ${low}–${high} MB a year normal, over ${limit} MB a year investigate`}
      empty="Not enough history to project."
      height={260}
      data={{
        labels: days.map(shortDay),
        datasets: [
          {
            label: 'Growth rate, trailing 7 days (MB a year)',
            // A logarithmic axis has no zero: a week without growth is a gap.
            data: mbPerYear.map((v) => (v !== null && v > 0 ? v : null)),
            borderColor: SERIES_COLOURS[0],
            backgroundColor: SERIES_COLOURS[0],
            pointRadius: 0,
            spanGaps: false,
          },
          ...(report.projectedMbPerYear !== null
            ? [
                {
                  label: `Projection over the window: ${report.projectedMbPerYear} MB a year`,
                  data: flat(report.projectedMbPerYear),
                  borderColor: SERIES_COLOURS[3],
                  backgroundColor: SERIES_COLOURS[3],
                  borderDash: [2, 3],
                  borderWidth: 2,
                  pointRadius: 0,
                },
              ]
            : []),
          threshold(`Normal, low end: ${low} MB a year`, low, THRESHOLD_COLOURS.low),
          threshold(`Normal, high end: ${high} MB a year`, high, THRESHOLD_COLOURS.high),
          threshold(`Investigate above ${limit} MB a year`, limit, THRESHOLD_COLOURS.investigate),
        ],
      }}
      options={{
        interaction: { mode: 'index', intersect: false },
        scales: {
          y: {
            type: 'logarithmic',
            title: { display: true, text: 'MB a year (logarithmic)' },
            ticks: { callback: (value) => (RATE_TICKS.has(Number(value)) ? Number(value).toLocaleString() : '') },
          },
        },
      }}
    />
  );
}

function TablesSection({ report }: { report: GrowthReport }) {
  const [file, setFile] = useState(report.files.find((f) => f.file === 'server.db')?.file ?? report.files[0]?.file ?? '');
  const chosen = report.files.find((f) => f.file === file) ?? report.files[0];
  if (!chosen) return <p className="muted">No tables sampled yet.</p>;
  const tables = tablesBySize(chosen);
  const top = tables.slice(0, 12);
  return (
    <>
      <div className="field growth-file-field">
        <label htmlFor="growth-file">Database file</label>
        <select id="growth-file" value={chosen.file} onChange={(e) => setFile(e.target.value)}>
          {report.files.map((f) => (
            <option key={f.file} value={f.file}>
              {f.file}
            </option>
          ))}
        </select>
      </div>
      <Chart
        kind="bar"
        testId="growth-tables-chart"
        label={`Rows and size of the ${top.length} biggest tables of ${chosen.file} (latest sample)`}
        empty="This file has no tables."
        height={260}
        data={{
          labels: top.map((t) => t.table),
          datasets: [
            {
              label: 'Size (MB)',
              data: top.map((t) => toMb(t.bytes)),
              backgroundColor: SERIES_COLOURS[0],
              yAxisID: 'mb',
            },
            {
              label: 'Rows',
              data: top.map((t) => t.rows),
              backgroundColor: STATUS_COLOURS.success,
              yAxisID: 'rows',
            },
          ],
        }}
        options={{
          scales: {
            mb: { type: 'linear', position: 'left', beginAtZero: true, title: { display: true, text: 'MB' } },
            rows: {
              type: 'linear',
              position: 'right',
              beginAtZero: true,
              ticks: { precision: 0 },
              grid: { drawOnChartArea: false },
              title: { display: true, text: 'Rows' },
            },
          },
        }}
      />
      <div className="table-wrap">
        <table className="data" data-testid="growth-tables">
          <caption className="visually-hidden">Rows and bytes per table of {chosen.file}</caption>
          <thead>
            <tr>
              <th scope="col">Table</th>
              <th scope="col" className="num">
                Rows
              </th>
              <th scope="col" className="num">
                Size
              </th>
            </tr>
          </thead>
          <tbody>
            {tables.map((t) => (
              <tr key={t.table} data-table={t.table}>
                <td className="mono">{t.table}</td>
                <td className="num">{t.rows.toLocaleString()}</td>
                <td className="num">{formatBytes(t.bytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** The Growth page: size per file over time (file and WAL), the yearly projection against the guide, sizes per table. */
export default function Growth() {
  const growth = useApi<GrowthReport>(GROWTH_PATH, { refreshMs: 300_000 });
  const report = growth.data;

  let content;
  if (growth.loading && !report) {
    content = <LoadingGrowth />;
  } else if (growth.error && !report) {
    content = <ErrorNotice error={growth.error} onRetry={growth.reload} lead="The growth history could not be loaded." />;
  } else if (!report || report.files.length === 0) {
    content = (
      <p className="card muted" data-testid="no-growth">
        No size samples yet. The server samples every database file each hour; come back later.
      </p>
    );
  } else {
    const latest = report.files.map((f) => f.samples[f.samples.length - 1]);
    const total = latest.reduce((a, s) => a + (s ? s.bytes + s.walBytes : 0), 0);
    const [low, high] = report.guide.normalMbPerYear;
    const judged = report.assessment === 'normal' ? 'status-ok' : report.assessment === 'not enough history' ? 'status-busy' : 'status-bad';
    content = (
      <>
        {growth.error ? <ErrorNotice error={growth.error} onRetry={growth.reload} lead="The latest refresh failed." /> : null}
        <ul className="tiles" aria-label="Growth figures">
          <li className="tile" data-testid="tile-total-size">
            <span className="tile-label">All files now</span>
            <span className="tile-value">{formatBytes(total)}</span>
          </li>
          <li className="tile" data-testid="tile-projection">
            <span className="tile-label">Projected growth a year</span>
            <span className="tile-value">{report.projectedMbPerYear === null ? '—' : `${report.projectedMbPerYear} MB`}</span>
          </li>
          <li className="tile" data-testid="tile-assessment">
            <span className="tile-label">
              Against the guide ({low}–{high} MB normal)
            </span>
            <span className="tile-value">
              <span className={`status-pill ${judged}`}>{ASSESSMENT_WORDS[report.assessment]}</span>
            </span>
          </li>
        </ul>

        <section className="card" aria-labelledby="sizes-heading">
          <h2 id="sizes-heading">Size per file, last 90 days</h2>
          <p className="muted small">Main file (solid) and its write-ahead log (dashed), the last sample of each day.</p>
          <SizesChart report={report} />
        </section>

        <section className="card" aria-labelledby="projection-heading">
          <h2 id="projection-heading">Yearly projection</h2>
          <p className="muted small">
            The guide: {low}–{high} MB a year is normal for a team of 5; over {report.guide.investigateAboveMbPerYear} MB a year,
            investigate.
          </p>
          <ProjectionChart report={report} />
          <div className="table-wrap">
            <table className="data" data-testid="growth-projections">
              <thead>
                <tr>
                  <th scope="col">File</th>
                  <th scope="col" className="num">
                    Now
                  </th>
                  <th scope="col" className="num">
                    Day over day
                  </th>
                  <th scope="col" className="num">
                    Projected MB a year
                  </th>
                </tr>
              </thead>
              <tbody>
                {report.files.map((f, i) => (
                  <tr key={f.file} data-file={f.file}>
                    <td className="mono">{f.file}</td>
                    <td className="num">{latest[i] ? formatBytes(latest[i].bytes + latest[i].walBytes) : '—'}</td>
                    <td className="num">{f.dayOverDayPct === null ? '—' : `${f.dayOverDayPct} %`}</td>
                    <td className="num">{f.projectedMbPerYear === null ? '—' : f.projectedMbPerYear}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>

        <section className="card" aria-labelledby="tables-heading">
          <h2 id="tables-heading">Sizes per table</h2>
          <TablesSection report={report} />
        </section>
      </>
    );
  }

  return (
    <div data-testid="growth">
      <div className="page-head">
        <h1>Growth</h1>
        <span className="muted small">Size samples are taken every hour.</span>
      </div>
      {content}
    </div>
  );
}
