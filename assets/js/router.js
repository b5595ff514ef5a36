// Hash routes: every screen has an address that can be bookmarked and shared.

const routes = [];

/** route('/customers/:id', render) — `render(params, query)` draws the screen. */
export function route(pattern, render, options = {}) {
  const names = [];
  const source = pattern
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replace(/:(\w+)/g, (_, name) => {
      names.push(name);
      return '([^/]+)';
    });
  routes.push({ pattern, regex: new RegExp(`^${source}$`), names, render, options });
}

export function currentPath() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, search = ''] = hash.split('?');
  return { path: path || '/', query: new URLSearchParams(search) };
}

/** The route matching the current address, or null. */
export function resolve() {
  const { path, query } = currentPath();
  for (const entry of routes) {
    const match = entry.regex.exec(path);
    if (!match) continue;
    const params = {};
    entry.names.forEach((name, i) => {
      params[name] = decodeURIComponent(match[i + 1]);
    });
    return { ...entry, params, query, path };
  }
  return { pattern: null, params: {}, query, path, options: {} };
}

export function navigate(address, { replace = false } = {}) {
  const target = `#${address}`;
  if (location.hash === target) {
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else if (replace) {
    history.replaceState(null, '', target);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else {
    location.hash = target;
  }
}
