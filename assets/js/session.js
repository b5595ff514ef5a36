// Who is signed in, and their preferences applied to the page.
import { api, setCsrfToken } from './api.js';
import { browserLanguage, setLanguage } from './i18n.js';
import { setDateFormat, setTimeZone } from './format.js';

export const session = {
  user: null,
  setupNeeded: false,
  defaultLanguage: 'zh-CN',
};

const stored = (key) => {
  try {
    return localStorage.getItem(`kehu.${key}`);
  } catch {
    return null;
  }
};
const store = (key, value) => {
  try {
    localStorage.setItem(`kehu.${key}`, value);
  } catch {
    // Private mode: preferences still apply for this page view.
  }
};

export function setUser(user, csrfToken) {
  session.user = user;
  setCsrfToken(csrfToken || user?.csrf_token);
  applyPreferences();
}

/** Loads the signed-in user, or null when nobody is signed in. */
export async function loadUser() {
  const current = await api('GET', '/auth/session');
  setUser(current.user, current.csrf_token);
  return session.user;
}

/** The user's own language, else the browser's, else the company default. */
/** Whether the signed-in person's roles let them view the records of `module`. */
export function mayView(module) {
  return Boolean(session.user?.permissions?.[module]?.actions.includes('view'));
}

export function preferredLanguage() {
  // The server's order too (src/http/mod.rs): so a page and the messages it is answered with
  // agree. The company's language comes before this browser's once someone is signed in.
  return session.user?.language || session.user?.company?.default_language || stored('language') || browserLanguage() || session.defaultLanguage;
}

export function applyPreferences() {
  const user = session.user;
  const root = document.documentElement;
  root.dataset.theme = user?.theme || stored('theme') || 'light';
  root.dataset.fontSize = user?.font_size || stored('font_size') || 'medium';
  setTimeZone(user?.timezone || user?.company?.timezone);
  setDateFormat(user?.company?.date_format);
  if (user) {
    store('theme', user.theme);
    store('font_size', user.font_size);
    if (user.language) store('language', user.language);
  }
}

/** Saves preference changes for the signed-in user and applies them at once. */
export async function savePreferences(changes) {
  const user = await api('PATCH', '/auth/me', changes);
  setUser(user);
  await setLanguage(preferredLanguage());
  return user;
}

/** Language choice before sign-in (login and setup pages): kept in this browser only. */
export async function choosePublicLanguage(lang) {
  store('language', lang);
  await setLanguage(lang);
}
