// The floor for the speed figures: the same data as the meter view's chart (or the fleet view's
// counts), fetched with the same session and drawn by uPlot and nothing else.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const params = new URLSearchParams(location.search);
const t0 = performance.now();
const root = document.getElementById('app');

async function main() {
  if (params.get('meter')) {
    const s = await (await fetch(`/api/v1/meters/${params.get('meter')}/series?from=${params.get('from')}&to=${params.get('to')}`)).json();
    new uPlot({ width: 1200, height: 360, series: [{}, { stroke: '#0b4f8a' }] }, [s.t, s.consumption], root);
  } else {
    const f = await (await fetch('/api/v1/fleet/summary')).json();
    const m = await (await fetch('/api/v1/meters?limit=50')).json();
    const keys = Object.keys(f.by_state);
    new uPlot({ width: 600, height: 240, scales: { x: { time: false } }, series: [{}, { stroke: '#0b4f8a' }] },
      [keys.map((_, i) => i), keys.map((k) => f.by_state[k])], root);
    root.append(String(m.meters.length));
  }
  document.body.dataset.ready = String(performance.now() - t0);
}
main();
