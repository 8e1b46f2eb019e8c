// The fleet: aggregate figures from GET /api/v1/fleet/summary and the paged meter list.
import { h, fmt, tiles, table, section } from '../dom.js';
import { api } from '../api.js';
import { meterList } from './meterlist.js';

function bars(caption, counts, keyName) {
  const entries = Object.entries(counts || {});
  const max = Math.max(1, ...entries.map(([, n]) => n));
  return table(caption, [
    [keyName, ([k]) => k || '(none)'],
    ['Count', ([, n]) => fmt.num(n)],
    ['', ([, n]) => h('span', { class: 'bar', style: `width:${Math.round((100 * n) / max)}%`, 'aria-hidden': 'true' })],
  ], entries);
}

export async function fleetView({ main }) {
  document.title = 'Fleet · MeterHub';
  const s = await api('/api/v1/fleet/summary');
  const list = meterList();
  const regions = Object.fromEntries(s.by_region.slice(0, 50).map((r) => [r.region_code || 'no relay region', r.meters]));
  main.replaceChildren(
    h('h1', {}, 'Fleet'),
    tiles([
      ['Meters', fmt.num(s.meters)],
      ['Ingest rate', `${fmt.num(s.ingest.readings_per_s, 1)} /s`, `${fmt.num(s.ingest.received_total)} received`],
      ['Alerts today', fmt.num(s.alerts_today)],
      ['Delivery failures', fmt.num(s.delivery_failures)],
      ['MQTT', s.mqtt],
    ]),
    h('div', { class: 'grid' },
      section('Meters by kind', bars('Meters by kind', s.by_kind, 'Kind')),
      section('Meters by state', bars('Meters by state', s.by_state, 'State'),
        h('p', { class: 'note' }, 'alerted: an alert today; quarantined: a quarantined reading in the last 24 h.')),
      section('Quarantine by verdict', bars('Quarantined readings by verdict', s.quarantine_by_verdict, 'Verdict')),
      section('Deliveries', bars('Alert deliveries by status', s.deliveries, 'Status')),
      section('Meters by region', bars('Meters by relay region', regions, 'Region'))),
    section('Meters', list.el));
  await list.load();
}
