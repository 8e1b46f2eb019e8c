// The dashboard: a login page and five views at fixed paths, each drawn from the REST API only.
import './style.css';
import { whoAmI, logout } from './api.js';
import { h, errorBox } from './dom.js';
import { loginView } from './views/login.js';
import { fleetView } from './views/fleet.js';
import { customerHome } from './views/customer.js';
import { meterView } from './views/meter.js';
import { relayView } from './views/relay.js';
import { waterView } from './views/water.js';
import { auditView } from './views/audit.js';

const app = document.getElementById('app');
let me = null;

const staffViews = [
  ['/', 'Fleet'],
  ['/relay', 'Relay'],
  ['/water', 'Water'],
  ['/audit', 'Audit'],
];

export function navigate(path) {
  history.pushState({}, '', path);
  render();
}

// Internal links go through the router; modified clicks (new tab) keep the browser's default.
document.addEventListener('click', (e) => {
  const a = e.target.closest('a[data-nav]');
  if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
  e.preventDefault();
  navigate(a.getAttribute('href'));
});
window.addEventListener('popstate', () => render());

function header(path) {
  const links = me.role === 'customer' ? [['/', 'My meters']] : staffViews;
  return h('header', { class: 'top' },
    h('a', { href: '#main', class: 'skip' }, 'Skip to content'),
    h('span', { class: 'brand' }, 'MeterHub'),
    h('nav', { 'aria-label': 'Views' },
      h('ul', {}, links.map(([href, label]) => h('li', {},
        h('a', { href, 'data-nav': true, 'aria-current': href === path || (href !== '/' && path.startsWith(href)) ? 'page' : null }, label))))),
    h('span', { class: 'who' }, `${me.name} (${me.role}${me.role === 'supervisor' ? ', read-only' : ''})`),
    h('button', { type: 'button', class: 'secondary', onclick: async () => { await logout(); me = null; navigate('/login'); } }, 'Log out'));
}

function routeOf(path) {
  if (path === '/login') return { view: 'login' };
  if (path === '/') return { view: 'home' };
  const m = path.match(/^\/meters\/([A-Za-z0-9_-]{1,32})$/);
  if (m) return { view: 'meter', id: m[1] };
  if (['/relay', '/water', '/audit'].includes(path)) return { view: path.slice(1) };
  return { view: 'missing' };
}

async function render() {
  const path = location.pathname;
  const route = routeOf(path);
  if (route.view === 'login') {
    me = null;
    app.replaceChildren(loginView(async (who) => { me = who; navigate(sessionStorage.getItem('mh_next') || '/'); }));
    return;
  }
  if (!me) me = await whoAmI().catch(() => null);
  if (!me) {
    sessionStorage.setItem('mh_next', path);
    history.replaceState({}, '', '/login');
    return render();
  }
  sessionStorage.removeItem('mh_next');
  const main = h('main', { id: 'main', tabindex: -1 });
  app.replaceChildren(header(path), main);
  const ctx = { me, main, navigate, readOnly: me.role === 'supervisor' || me.role === 'auditor' && route.view !== 'audit' };
  try {
    if (route.view === 'home') await (me.role === 'customer' ? customerHome(ctx) : fleetView(ctx));
    else if (route.view === 'meter') await meterView(ctx, route.id);
    else if (me.role === 'customer' && ['relay', 'water', 'audit'].includes(route.view))
      main.replaceChildren(h('h1', {}, 'Not available'), h('p', {}, 'This view is for the utility\'s staff.'));
    else if (route.view === 'relay') await relayView(ctx);
    else if (route.view === 'water') await waterView(ctx);
    else if (route.view === 'audit') await auditView(ctx);
    else main.replaceChildren(h('h1', {}, 'No such page'), h('p', {}, h('a', { href: '/', 'data-nav': true }, 'Back to the start')));
  } catch (err) {
    main.append(errorBox(err));
  }
  document.body.dataset.ready = path;  // tests and the speed figures wait for this
  performance.mark('mh-ready');
}

render();
