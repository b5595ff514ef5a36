// Dates and numbers in the user's language and time zone.
import { language } from './i18n.js';

let timeZone;

/** The zone used for display: the user's, else the company's, else the browser's. */
export function setTimeZone(zone) {
  timeZone = zone || undefined;
}

export function formatDate(value, options = { dateStyle: 'long' }) {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return '';
  return new Intl.DateTimeFormat(language(), { ...options, timeZone }).format(date);
}

export function formatDateTime(value) {
  return formatDate(value, { dateStyle: 'medium', timeStyle: 'short' });
}

/** The hour of day in the display zone (for greetings). */
export function hourNow() {
  const parts = new Intl.DateTimeFormat('en-GB', { hour: 'numeric', hourCycle: 'h23', timeZone }).formatToParts(new Date());
  return Number(parts.find((p) => p.type === 'hour')?.value || 0);
}

export function formatNumber(value, options = {}) {
  return new Intl.NumberFormat(language(), options).format(value);
}

/** Money is integer minor units plus a currency code. */
export function formatMoney(minorUnits, currency) {
  return new Intl.NumberFormat(language(), { style: 'currency', currency }).format(minorUnits / 100);
}

export function timeZones() {
  return typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : ['Asia/Shanghai', 'UTC'];
}

export function browserTimeZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'Asia/Shanghai';
}

export function formatList(items) {
  return new Intl.ListFormat(language(), { style: 'short', type: 'unit' }).format(items);
}
