// The REST API as the dashboard uses it: the session cookie travels by itself; state-changing
// requests carry the session's CSRF token; a 401 sends the user to the login page.
let csrf = sessionStorage.getItem('mh_csrf') || '';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function setCsrf(token) {
  csrf = token || '';
  if (csrf) sessionStorage.setItem('mh_csrf', csrf);
  else sessionStorage.removeItem('mh_csrf');
}

export async function api(path, { method = 'GET', body, headers = {}, raw = false } = {}) {
  const h = { Accept: 'application/json', ...headers };
  if (method !== 'GET' && method !== 'HEAD') h['X-CSRF-Token'] = csrf;
  let payload = body;
  if (body !== undefined && !(body instanceof Blob) && !(body instanceof ArrayBuffer) && typeof body !== 'string') {
    h['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await fetch(path, { method, headers: h, body: payload, credentials: 'same-origin' });
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { error: { code: 'bad_response', message: text.slice(0, 200) } };
  }
  if (!res.ok && !raw) {
    const err = (data && data.error) || {};
    throw new ApiError(res.status, err.code || String(res.status), err.message || res.statusText);
  }
  return raw ? { status: res.status, data } : data;
}

// Who is logged in (and the CSRF token of the session), or null.
export async function whoAmI() {
  try {
    const me = await api('/api/v1/session');
    if (me.csrf_token) setCsrf(me.csrf_token);
    return me;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

export async function login(fields) {
  const me = await api('/api/v1/session', { method: 'POST', body: fields });
  setCsrf(me.csrf_token);
  return me;
}

export async function logout() {
  try {
    await api('/api/v1/session', { method: 'DELETE' });
  } finally {
    setCsrf('');
  }
}

export const q = (params) => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') s.set(k, v);
  const text = s.toString();
  return text ? `?${text}` : '';
};
