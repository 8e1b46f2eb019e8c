// The consumption chart: uPlot over a meter's interval consumption, quarantined readings marked
// (red triangles on their own band at the top, reason in the legend when hovered), drag to zoom.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

// Quarantine markers joined onto the reading timestamps (uPlot wants one x array).
export function joinSeries(series, quarantine) {
  const t = series.t;
  const qByTs = new Map(quarantine.map((r) => [Math.floor(Date.parse(r.timestamp) / 1000), r]));
  const extra = [...qByTs.keys()].filter((ts) => ts >= (t[0] ?? -Infinity) && ts <= (t[t.length - 1] ?? Infinity));
  let xs = t;
  let ys = series.consumption;
  if (extra.length) {
    const all = new Map();
    t.forEach((ts, i) => all.set(ts, series.consumption[i]));
    for (const ts of extra) if (!all.has(ts)) all.set(ts, null);
    xs = [...all.keys()].sort((a, b) => a - b);
    ys = xs.map((ts) => all.get(ts));
  }
  const marks = xs.map((ts) => (qByTs.has(ts) ? 1 : null));
  return { xs, ys, marks, qByTs };
}

export function consumptionChart(target, { series, quarantine, unit, width, onZoom }) {
  const { xs, ys, marks, qByTs } = joinSeries(series, quarantine);
  const reasonOf = (u, idx) => {
    const r = idx == null ? null : qByTs.get(u.data[0][idx]);
    return r ? `${r.verdict}: ${r.reason}` : '—';
  };
  const opts = {
    width,
    height: Math.max(220, Math.min(360, Math.round(width * 0.45))),
    title: `Consumption per interval (${unit})`,
    cursor: { drag: { x: true, y: false, setScale: true } },
    scales: { x: { time: true }, q: { range: [0, 1] } },
    axes: [{}, { label: unit, size: 60 }],
    series: [
      {},
      { label: `consumption (${unit})`, stroke: '#0b4f8a', width: 1, spanGaps: false, points: { show: false } },
      {
        label: 'quarantined',
        scale: 'q',
        stroke: '#b00020',
        width: 0,
        paths: () => null,
        points: { show: true, size: 9, fill: '#b00020', stroke: '#b00020' },
        value: (u, v, si, idx) => (v ? reasonOf(u, idx) : '—'),
      },
    ],
    hooks: { setScale: [(u, key) => key === 'x' && onZoom && onZoom(u.scales.x.min, u.scales.x.max)] },
  };
  // Quarantined readings sit at 95 % of the band's height.
  const plot = new uPlot(opts, [xs, ys, marks.map((m) => (m ? 0.95 : null))], target);
  return plot;
}
