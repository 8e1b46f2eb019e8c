// Small DOM helpers: elements from a tag, attributes and children; text is always set as text,
// never parsed as HTML, so data from the API cannot inject markup.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export const fmt = {
  num(v, digits = 0) {
    if (v === null || v === undefined || Number.isNaN(v)) return '—';
    return Number(v).toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  },
  time(v) {
    if (v === null || v === undefined || v === '') return '—';
    const d = typeof v === 'number' ? new Date(v * 1000) : new Date(v);
    return Number.isNaN(d.getTime()) ? String(v) : d.toISOString().replace('T', ' ').slice(0, 16) + 'Z';
  },
};

// A table of rows: columns as [header, row => value] pairs; a caption names it for screen readers.
export function table(caption, columns, rows, { empty = 'None.' } = {}) {
  if (!rows || rows.length === 0) return h('p', { class: 'empty' }, `${caption}: ${empty}`);
  return h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': caption },
    h('table', {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, columns.map(([name]) => h('th', { scope: 'col' }, name)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, columns.map(([, get]) => {
        const v = get(r);
        return h('td', {}, v instanceof Node ? v : v === null || v === undefined || v === '' ? '—' : String(v));
      }))))));
}

// A row of labelled figures (the fleet's tiles).
export function tiles(items) {
  return h('dl', { class: 'tiles' }, items.map(([label, value, note]) =>
    h('div', { class: 'tile' }, h('dt', {}, label), h('dd', {}, value), note ? h('dd', { class: 'note' }, note) : null)));
}

export function section(title, ...children) {
  const id = 'h-' + title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return h('section', { 'aria-labelledby': id }, h('h2', { id }, title), ...children);
}

export function errorBox(err) {
  return h('p', { class: 'error', role: 'alert' }, err && err.message ? err.message : String(err));
}

// A table whose columns are the rows' own fields (nested values shown as compact JSON).
export function autoTable(caption, rows, { limit = 200, omit = [] } = {}) {
  const list = (rows || []).slice(0, limit);
  const keys = [...new Set(list.flatMap((r) => Object.keys(r)))].filter((k) => !omit.includes(k));
  const show = (v) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : v);
  return table(caption, keys.map((k) => [k.replace(/_/g, ' '), (r) => show(r[k])]), list);
}
