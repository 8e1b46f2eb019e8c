// Relay retransmission (seed 000): per region the allocated sub-periods, their levels, the target and
// the key ids (never a key); relayed and rejected batches; per-relay statistics.
import { h, fmt, table, section, tiles, autoTable } from '../dom.js';
import { api } from '../api.js';

export async function relayView({ main }) {
  document.title = 'Relay · MeterHub';
  const [list, stats] = await Promise.all([api('/api/v1/relay/regions'), api('/api/v1/relay/stats')]);
  const regions = await Promise.all(list.regions.slice(0, 20).map((r) => api(`/api/v1/relay/regions/${r.region_code}`)));
  const perRelay = new Map();
  for (const b of stats.recent) {
    const s = perRelay.get(b.relay) || { relay: b.relay, batches: 0, accepted: 0, rejected: 0, readings: 0 };
    s.batches += 1;
    if (b.outcome === 'accepted') { s.accepted += 1; s.readings += b.readings; } else s.rejected += 1;
    perRelay.set(b.relay, s);
  }
  main.replaceChildren(
    h('h1', {}, 'Relay retransmission'),
    tiles([
      ['Regions', fmt.num(list.regions.length)],
      ['Batches accepted', fmt.num(stats.batches.accepted)],
      ['Rejected', fmt.num(stats.batches.rejected), `${fmt.num(stats.batches.unknown_origin)} unknown origin`],
      ['Duplicates', fmt.num(stats.batches.duplicates)],
      ['Readings delivered', fmt.num(stats.readings_delivered)],
    ]),
    section('Regions', ...regions.map((r) => h('article', { class: 'card' },
      h('h3', {}, `${r.region_name || 'region'} (${r.region_code})`),
      h('p', {}, `${r.meters} meters · target sub-period ${r.target_sub_period ?? '—'} · key ids ${r.key_ids.join(', ') || '—'}`),
      table(`Sub-periods of ${r.region_code}`, [
        ['Sub-period', (s) => s.sub_period + (s.sub_period === r.target_sub_period ? ' (target)' : '')],
        ['Region level', (s) => fmt.num(s.region_level, 2)],
        ['Reporting meters', (s) => s.reporting_meters],
      ], r.sub_periods)))),
    section('Per relay (recent batches)', table('Per-relay statistics', [
      ['Relay meter', (s) => s.relay], ['Batches', (s) => s.batches], ['Accepted', (s) => s.accepted],
      ['Rejected', (s) => s.rejected], ['Readings', (s) => s.readings],
    ], [...perRelay.values()])),
    section('Recent batches', autoTable('Relayed and rejected batches', stats.recent.map((b) => ({ ...b, received_at: fmt.time(b.received_at_ms / 1000), received_at_ms: undefined })), { omit: ['received_at_ms'] })));
}
