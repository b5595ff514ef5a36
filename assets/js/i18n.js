// Translations from /i18n/{lang}.json. `t(key, params)` fills {name} placeholders.

export const LANGUAGES = ['zh-CN', 'en'];
let current = 'zh-CN';
let table = {};

/** The browser's language if we speak it, else null. */
export function browserLanguage() {
  for (const tag of navigator.languages || [navigator.language || '']) {
    const primary = tag.toLowerCase().split('-')[0];
    if (primary === 'zh') return 'zh-CN';
    if (primary === 'en') return 'en';
  }
  return null;
}

export async function setLanguage(lang) {
  if (!LANGUAGES.includes(lang)) lang = 'zh-CN';
  if (lang === current && Object.keys(table).length) return;
  const response = await fetch(`/i18n/${lang}.json`, { credentials: 'same-origin' });
  if (!response.ok) throw new Error(`cannot load ${lang} translations`);
  table = await response.json();
  current = lang;
  document.documentElement.lang = lang;
}

export function language() {
  return current;
}

export function t(key, params = {}) {
  const template = table[key];
  if (template === undefined) {
    console.warn(`missing translation: ${key}`);
    return key;
  }
  return template
    .replace(/\{(\w+)\|([^|{}]*)\|([^|{}]*)\}/g, (match, name, one, other) => (name in params ? (isOne(params[name]) ? one : other) : match))
    .replace(/\{(\w+)\}/g, (match, name) => (name in params ? String(params[name]) : match));
}

/** `{name|one|other}` picks by whether the parameter is 1 (as src/i18n.rs does). */
function isOne(value) {
  return Number(String(value).replace(/[,\s]/g, '')) === 1;
}

/** True when `key` exists (for server error codes the UI may not know yet). */
export function has(key) {
  return key in table;
}
