// Charts of the reports page as plain SVG: bars for counts, lines for figures over the day's
// intervals. No chart library: nothing to inject <style> tags (the page's CSP allows only its own
// style sheets), colours come from reports.css by class, and the figures stay in the DOM as text.

import type { Bar, Point } from "../../lib/reports";

const WIDTH = 640;
const HEIGHT = 220;
const PAD = { top: 16, right: 12, bottom: 36, left: 44 };

/** Round numbers for an axis from 0 to at least `max`: the top and a few ticks. */
export function niceScale(max: number, ticks = 4): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.25 };
  const raw = max / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  return { top: Math.ceil(max / step) * step, step };
}

function Axis({ top, step, format, innerHeight }: {
  top: number;
  step: number;
  format: (v: number) => string;
  innerHeight: number;
}) {
  const ticks = [];
  for (let v = 0; v <= top + step / 2; v += step) ticks.push(v);
  return (
    <g className="axis">
      {ticks.map((v) => {
        const y = PAD.top + innerHeight - (v / top) * innerHeight;
        return (
          <g key={v}>
            <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y} y2={y} className="grid" />
            <text x={PAD.left - 6} y={y + 4} textAnchor="end">
              {format(v)}
            </text>
          </g>
        );
      })}
    </g>
  );
}

/** Every n-th label so that they do not overlap. */
function labelEvery(count: number, width: number): number {
  return Math.max(1, Math.ceil(count / Math.max(1, Math.floor(width / 34))));
}

export function BarChart({ bars, title, format = String }: {
  bars: Bar[];
  title: string;
  format?: (v: number) => string;
}) {
  const innerWidth = WIDTH - PAD.left - PAD.right;
  const innerHeight = HEIGHT - PAD.top - PAD.bottom;
  const { top, step } = niceScale(Math.max(0, ...bars.map((b) => b.value)));
  const slot = innerWidth / Math.max(1, bars.length);
  const every = labelEvery(bars.length, innerWidth);
  return (
    <svg className="chart bar-chart" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={title}>
      <title>{title}</title>
      <Axis top={top} step={step} format={format} innerHeight={innerHeight} />
      {bars.map((bar, i) => {
        const height = (bar.value / top) * innerHeight;
        const x = PAD.left + i * slot + slot * 0.15;
        const y = PAD.top + innerHeight - height;
        return (
          <g key={`${bar.label}-${i}`} className="bar">
            <rect x={x} y={y} width={slot * 0.7} height={Math.max(0, height)}>
              <title>{`${bar.label}: ${format(bar.value)}`}</title>
            </rect>
            {bar.value > 0 && bars.length <= 24 && (
              <text x={x + slot * 0.35} y={y - 3} textAnchor="middle" className="value">
                {format(bar.value)}
              </text>
            )}
            {i % every === 0 && (
              <text x={x + slot * 0.35} y={HEIGHT - PAD.bottom + 14} textAnchor="middle" className="label">
                {bar.label.length > 12 ? `${bar.label.slice(0, 11)}…` : bar.label}
              </text>
            )}
          </g>
        );
      })}
    </svg>
  );
}

export interface Line {
  name: string;
  points: Point[];
  /** A class for its colour (reports.css: series-0, series-1...). */
  series: number;
}

export function LineChart({ lines, title, format = String, max }: {
  lines: Line[];
  title: string;
  format?: (v: number) => string;
  /** The axis' top (e.g. 1 for shares); else from the data. */
  max?: number;
}) {
  const innerWidth = WIDTH - PAD.left - PAD.right;
  const innerHeight = HEIGHT - PAD.top - PAD.bottom;
  const values = lines.flatMap((l) => l.points.map((p) => p.value ?? 0));
  const { top, step } = max !== undefined ? { top: max, step: max / 4 } : niceScale(Math.max(0, ...values));
  const labels = lines[0]?.points.map((p) => p.label) ?? [];
  const x = (i: number) => PAD.left + (labels.length > 1 ? (i / (labels.length - 1)) * innerWidth : innerWidth / 2);
  const y = (v: number) => PAD.top + innerHeight - (Math.min(v, top) / top) * innerHeight;
  const every = labelEvery(labels.length, innerWidth);
  return (
    <svg className="chart line-chart" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={title}>
      <title>{title}</title>
      <Axis top={top} step={step} format={format} innerHeight={innerHeight} />
      {labels.map((label, i) =>
        i % every === 0 ? (
          <text key={`${label}-${i}`} x={x(i)} y={HEIGHT - PAD.bottom + 14} textAnchor="middle" className="label">
            {label}
          </text>
        ) : null,
      )}
      {lines.map((line) => {
        const known = line.points.map((p, i) => ({ ...p, i })).filter((p) => p.value !== null);
        return (
          <g key={line.name} className={`line series-${line.series}`}>
            {known.length > 1 && (
              <polyline points={known.map((p) => `${x(p.i)},${y(p.value ?? 0)}`).join(" ")} fill="none" />
            )}
            {known.map((p) => (
              <circle key={p.i} cx={x(p.i)} cy={y(p.value ?? 0)} r={3}>
                <title>{`${line.name} ${p.label}: ${format(p.value ?? 0)}`}</title>
              </circle>
            ))}
          </g>
        );
      })}
      <g className="legend">
        {lines.map((line, i) => (
          <g key={line.name} className={`series-${line.series}`}>
            <rect x={PAD.left + i * 160} y={HEIGHT - 14} width={10} height={10} />
            <text x={PAD.left + i * 160 + 14} y={HEIGHT - 5}>
              {line.name}
            </text>
          </g>
        ))}
      </g>
    </svg>
  );
}
