// Tamper audit (seed 002): the ledger's signed tree head, audit results, alarms with the mismatching
// lines and windows beside the ledger's times, and inspection orders.
import { h, fmt, section, tiles, autoTable } from '../dom.js';
import { api } from '../api.js';

export async function auditView({ main }) {
  document.title = 'Audit · MeterHub';
  const [head, results, alarms, orders] = await Promise.all([
    api('/api/v1/audit/ledger/head'), api('/api/v1/audit/results?limit=200'),
    api('/api/v1/audit/alarms?limit=200'), api('/api/v1/audit/orders?limit=200'),
  ]);
  main.replaceChildren(
    h('h1', {}, 'Tamper audit'),
    tiles([
      ['Ledger size', fmt.num(head.size)],
      ['Signed at', fmt.time(head.timestamp_ms / 1000)],
      ['Audits', fmt.num(results.results.length)],
      ['Alarms', fmt.num(alarms.alarms.length)],
      ['Inspection orders', fmt.num(orders.orders.length)],
    ]),
    section('Signed tree head', h('dl', { class: 'kv' },
      Object.entries(head).flatMap(([k, v]) => [h('dt', {}, k.replace(/_/g, ' ')), h('dd', { class: 'mono' }, String(v))]))),
    section('Alarms', autoTable('Alarms: mismatching lines and windows beside the ledger\'s times', alarms.alarms.slice().reverse())),
    section('Audit results', autoTable('Audit results', results.results.slice().reverse())),
    section('Inspection orders', autoTable('Inspection orders', orders.orders.slice().reverse())));
}
