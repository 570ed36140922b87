'use client';

import {
  BarElement,
  CategoryScale,
  Chart as ChartJS,
  Filler,
  Legend,
  LinearScale,
  LineElement,
  PointElement,
  Tooltip,
  type ChartData,
  type ChartOptions,
} from 'chart.js';
import { Bar, Line } from 'react-chartjs-2';

ChartJS.register(CategoryScale, LinearScale, PointElement, LineElement, BarElement, Filler, Tooltip, Legend);

/** The dashboard's palette for series, in order; status colours by name. */
export const SERIES_COLOURS = ['#1f5fae', '#17693a', '#b4570b', '#7a3fb0', '#0f7c86', '#a32020', '#5b6573'];
export const STATUS_COLOURS: Record<string, string> = { success: '#17693a', error: '#a32020', conflict: '#b4570b', partial: '#b4570b' };

interface ChartProps<K extends 'line' | 'bar'> {
  kind: K;
  /** What the chart shows, for screen readers (the canvas itself is not readable). */
  label: string;
  /** `data-testid` of the figure; browser tests check that its canvas drew. */
  testId: string;
  data: ChartData<K>;
  options?: ChartOptions<K>;
  height?: number;
  /** A sentence shown instead of the chart when there is nothing to draw. */
  empty?: string;
}

/**
 * A chart.js chart in a labelled figure: responsive to its container, no animation (figures
 * arrive live), and an empty state instead of a blank canvas.
 */
export default function Chart<K extends 'line' | 'bar'>({ kind, label, testId, data, options, height = 260, empty }: ChartProps<K>) {
  const hasData = data.datasets.some((d) => (d.data as unknown[]).length > 0);
  const base = { responsive: true, maintainAspectRatio: false, animation: false as const };
  return (
    <figure className="chart" data-testid={testId} aria-label={label} role="figure">
      {hasData ? (
        <div className="chart-canvas" style={{ height }}>
          {kind === 'line' ? (
            <Line
              aria-label={label}
              role="img"
              data={data as ChartData<'line'>}
              options={{ ...base, ...(options as ChartOptions<'line'>) }}
            />
          ) : (
            <Bar aria-label={label} role="img" data={data as ChartData<'bar'>} options={{ ...base, ...(options as ChartOptions<'bar'>) }} />
          )}
        </div>
      ) : (
        <p className="muted chart-empty" data-testid={`${testId}-empty`}>
          {empty ?? 'Nothing to draw yet.'}
        </p>
      )}
      <figcaption className="visually-hidden">{label}</figcaption>
    </figure>
  );
}
