// Water remote maintenance (seed 001): the maintenance board — per terminal its windows and verdicts,
// fitted parameters with their uncertainty, commands and acks, photos and what was read from them;
// and the work orders with their state.
import { h, section, autoTable, errorBox } from '../dom.js';
import { api } from '../api.js';

export async function waterView({ main, readOnly }) {
  document.title = 'Water · MeterHub';
  const [pairs, orders] = await Promise.all([api('/api/v1/water/pairs'), api('/api/v1/water/work-orders')]);
  const pick = document.createElement('select');
  pick.id = 'water-terminal';
  for (const p of pairs.pairs) pick.append(h('option', { value: p.terminal_id }, p.terminal_id));
  const board = h('div', { 'aria-live': 'polite' });
  const show = async () => {
    const t = pick.value;
    if (!t) return board.replaceChildren(h('p', {}, 'No paired terminal yet.'));
    try {
      const [w, p, hist] = await Promise.all([
        api(`/api/v1/water/meters/${t}/windows`), api(`/api/v1/water/meters/${t}/parameters`), api(`/api/v1/water/meters/${t}/history`),
      ]);
      board.replaceChildren(
        autoTable(`Windows and verdicts of ${t}`, w.windows.slice().reverse()),
        h('h3', {}, 'Parameters in force'), h('pre', { class: 'json' }, JSON.stringify(p.current, null, 2)),
        autoTable(`Commands and acks of ${t}`, p.commands.slice().reverse()),
        autoTable(`Maintenance history of ${t} (photos and what was read)`, hist.history.slice().reverse()));
    } catch (err) { board.replaceChildren(errorBox(err)); }
  };
  pick.addEventListener('change', show);
  main.replaceChildren(
    h('h1', {}, 'Water maintenance board'),
    section('Terminals', autoTable('Pairing table', pairs.pairs)),
    section('Terminal', h('div', { class: 'filters' }, h('label', { for: 'water-terminal' }, 'Terminal'), pick), board),
    section('Work orders', autoTable('Work orders', orders.work_orders.slice().reverse()),
      readOnly ? null : h('p', { class: 'note' }, 'Close a work order with POST /api/v1/water/work-orders/{id}/done once done on site.')));
  await show();
}
