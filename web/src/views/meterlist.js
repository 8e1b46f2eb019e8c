// The paged, searchable meter list (GET /api/v1/meters?q=&kind=&offset=&limit=): never more than a
// page of the fleet in the browser.
import { h, table } from '../dom.js';
import { api, q } from '../api.js';

export function meterList({ pageSize = 50, showCustomer = true } = {}) {
  const state = { text: '', kind: '', offset: 0 };
  const body = h('div', { 'aria-live': 'polite' });
  const search = h('input', { id: 'meter-search', type: 'search', placeholder: 'meter or customer id', autocomplete: 'off' });
  const kind = h('select', { id: 'meter-kind' },
    h('option', { value: '' }, 'any'), h('option', { value: 'electricity' }, 'electricity'), h('option', { value: 'water' }, 'water'));
  let timer = 0;
  const load = async () => {
    const page = await api('/api/v1/meters' + q({ q: state.text, kind: state.kind, offset: state.offset, limit: pageSize }));
    const last = Math.min(page.offset + page.meters.length, page.total);
    const cols = [
      ['Meter', (m) => h('a', { href: `/meters/${m.meter_id}`, 'data-nav': true }, m.meter_id)],
      ['Kind', (m) => m.kind],
      ...(showCustomer ? [['Customer', (m) => m.customer_id]] : []),
      ['Interval', (m) => `${m.interval_s / 60} min`],
      ['Threshold', (m) => m.customer_threshold ?? 'learned'],
    ];
    body.replaceChildren(
      table('Meters', cols, page.meters, { empty: 'no meter matches.' }),
      h('div', { class: 'pager' },
        h('button', { type: 'button', class: 'secondary', disabled: state.offset === 0,
          onclick: () => { state.offset = Math.max(0, state.offset - pageSize); load(); } }, 'Previous'),
        h('span', { class: 'count' }, page.total ? `${page.offset + 1}–${last} of ${page.total.toLocaleString('en')}` : '0 meters'),
        h('button', { type: 'button', class: 'secondary', disabled: last >= page.total,
          onclick: () => { state.offset += pageSize; load(); } }, 'Next')));
  };
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => { state.text = search.value.trim(); state.offset = 0; load(); }, 200);
  });
  kind.addEventListener('change', () => { state.kind = kind.value; state.offset = 0; load(); });
  const el = h('div', { class: 'meter-list' },
    h('div', { class: 'filters', role: 'search' },
      h('label', { for: 'meter-search' }, 'Search meters'), search,
      h('label', { for: 'meter-kind' }, 'Kind'), kind),
    body);
  return { el, load };
}
