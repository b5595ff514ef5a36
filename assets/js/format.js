// Dates and numbers in the user's language and time zone.
import { language } from './i18n.js';

let timeZone;

/** The zone used for display: the user's, else the company's, else the browser's. */
export function setTimeZone(zone) {
  timeZone = zone || undefined;
}

let datePattern = null;

/** The company's way of writing dates: a pattern such as `YYYY/MM/DD`, or `auto` (or none)
 * for each reader's language. */
export function setDateFormat(pattern) {
  datePattern = pattern && pattern !== 'auto' ? pattern : null;
}

/** `date` in the company's pattern, with the time when `options` asks for it. */
function patterned(date, options) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit', timeZone })
    .formatToParts(date).map((p) => [p.type, p.value]));
  const day = datePattern.replace('YYYY', parts.year).replace('MM', parts.month).replace('DD', parts.day);
  if (!options.timeStyle) return day;
  return `${day} ${new Intl.DateTimeFormat(language(), { timeStyle: options.timeStyle, timeZone }).format(date)}`;
}

export function formatDate(value, options = { dateStyle: 'long' }) {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return '';
  if (datePattern && options.dateStyle) return patterned(date, options);
  return new Intl.DateTimeFormat(language(), { ...options, timeZone }).format(date);
}

export function formatDateTime(value) {
  return formatDate(value, { dateStyle: 'medium', timeStyle: 'short' });
}

/** The wall-clock fields of `date` in the display zone. */
function wallClock(date) {
  return Object.fromEntries(new Intl.DateTimeFormat('en-CA', {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZone,
  }).formatToParts(date).map((p) => [p.type, p.value]));
}

/** How far the display zone's clock is ahead of UTC at the instant `ms`. */
function zoneOffset(ms) {
  const p = wallClock(new Date(ms));
  return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - Math.floor(ms / 1000) * 1000;
}

/** An instant as a `datetime-local` value, in the person's zone (not the browser's: a Shanghai
 * user on a UTC laptop types and reads Shanghai time). */
export function toZonedInput(value) {
  const date = new Date(value || NaN);
  if (Number.isNaN(date.getTime())) return '';
  const p = wallClock(date);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

/** A `datetime-local` value, read as wall-clock time in the person's zone, as an instant. */
export function fromZonedInput(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(text || '');
  if (!m) return null;
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
  // The offset at the guess can differ from the one at the instant across a clock change.
  const guess = wall - zoneOffset(wall);
  return new Date(wall - zoneOffset(guess)).toISOString();
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
