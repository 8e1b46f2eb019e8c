// The login page: a username and password, or an API token.
import { h, errorBox } from '../dom.js';
import { login } from '../api.js';

export function loginView(onDone) {
  const status = h('div', { 'aria-live': 'polite' });
  const submit = (fields) => async (e) => {
    e.preventDefault();
    status.replaceChildren();
    try {
      onDone(await login(fields()));
    } catch (err) {
      status.replaceChildren(errorBox(err));
    }
  };
  const user = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true });
  const pass = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const token = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true });
  document.title = 'Log in · MeterHub';
  return h('main', { id: 'main', class: 'login' },
    h('h1', {}, 'MeterHub'),
    h('form', { 'aria-labelledby': 'login-password', onsubmit: submit(() => ({ username: user.value, password: pass.value })) },
      h('h2', { id: 'login-password' }, 'Log in'),
      h('label', { for: 'username' }, 'Username'), user,
      h('label', { for: 'password' }, 'Password'), pass,
      h('button', { type: 'submit' }, 'Log in')),
    h('form', { 'aria-labelledby': 'login-token', onsubmit: submit(() => ({ token: token.value })) },
      h('h2', { id: 'login-token' }, 'Log in with a token'),
      h('label', { for: 'token' }, 'API token'), token,
      h('button', { type: 'submit', class: 'secondary' }, 'Log in with token')),
    status);
}
