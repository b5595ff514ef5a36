// Entity metadata from GET /api/v1/meta: fields, labels, picklists and the caller's rights. The
// generic list, form and record screens read only this, so a new entity needs no new screen.
import { api } from './api.js';
import { h } from './dom.js';
import { language, t } from './i18n.js';
import { formatDate, formatDateTime, formatMoney, formatNumber } from './format.js';
import { session } from './session.js';

let cache = null;
let cachedFor = '';

/** The metadata for the signed-in user in the current language (loaded once, then reused). */
export async function loadMeta() {
  const key = `${session.user?.id}:${language()}`;
  if (!cache || cachedFor !== key) {
    // Fields an administrator hid stay out of every form, list, filter and record page.
    const visible = (e) => ({ ...e, fields: e.fields.filter((f) => !f.hidden) });
    cache = api('GET', '/meta').then((answer) => new Map(answer.entities.map((e) => [e.name, visible(e)])));
    cachedFor = key;
    cache.catch(() => { cache = null; });
  }
  return cache;
}

/** Forgets the metadata (after an administrator changes fields or roles). */
export function resetMeta() {
  cache = null;
}

export function can(entity, action) {
  return Boolean(entity?.permissions?.actions?.includes(action));
}

export function fieldOf(entity, name) {
  return entity.fields.find((f) => f.name === name);
}

/** Label for a field name, including the bookkeeping columns every entity has. */
export function labelOf(entity, name) {
  return fieldOf(entity, name)?.label || t(`field.common.${name}`);
}

export function optionLabel(field, value) {
  return field?.options?.find((o) => o.value === value)?.label ?? value;
}

const BOOKKEEPING = {
  id: { name: 'id', type: 'integer' },
  owner_id: { name: 'owner_id', type: 'user' },
  department_id: { name: 'department_id', type: 'department' },
  created_at: { name: 'created_at', type: 'datetime' },
  updated_at: { name: 'updated_at', type: 'datetime' },
};

export function describe(entity, name) {
  return fieldOf(entity, name) || BOOKKEEPING[name] || { name, type: 'text' };
}

/**
 * A record's value as the user should read it: names for references, labels for picklists,
 * dates in their time zone, links for addresses. Always text nodes, never HTML.
 */
export function display(entity, name, record) {
  const field = describe(entity, name);
  const value = record[name];
  if (value === null || value === undefined || value === '' || (Array.isArray(value) && !value.length)) return '—';
  const link = entity.link;
  if (link && name === link.field) {
    const label = record.display?.[name];
    return label ? h('a', { href: `#/${record[link.entity_field]}/${value}` }, label) : '—';
  }
  switch (field.type) {
    case 'user':
    case 'department':
      return record.display?.[name] || '—';
    case 'reference':
      return record.display?.[name]
        ? h('a', { href: `#/${field.reference}/${value}` }, record.display[name])
        : '—';
    case 'picklist':
    case 'lookup':
      return record.display?.[name] ?? optionLabel(field, value);
    case 'entity':
      return t(`entity_one.${value}`);
    case 'lines':
      return linesSummary(value, record.currency);
    case 'multi_picklist':
      return value.map((v) => optionLabel(field, v)).join(', ');
    case 'tags':
      return h('span', { class: 'tags' }, value.map((tag) => h('span', { class: 'tag' }, tag)));
    case 'bool':
      return value ? t('common.yes') : t('common.no');
    case 'datetime':
      return formatDateTime(value);
    case 'date':
      return formatDate(value, { dateStyle: 'medium' });
    case 'money':
      return formatMoney(value, record.currency || session.user?.company?.currency || 'CNY');
    case 'integer':
      return name === 'id' ? String(value) : formatNumber(value);
    case 'email':
      return h('a', { href: `mailto:${value}` }, value);
    case 'phone':
      return h('a', { href: `tel:${value.replace(/[^\d+]/g, '')}` }, value);
    case 'url':
      return /^https?:\/\//i.test(value) ? h('a', { href: value, target: '_blank', rel: 'noopener noreferrer' }, value) : value;
    default:
      return String(value);
  }
}

/** Line items as "product × quantity" text (the record page draws the full table). */
function linesSummary(lines, currency) {
  return lines.map((line) => `${line.product_name} × ${formatNumber(line.quantity)} = ${formatMoney(line.total, currency || session.user?.company?.currency || 'CNY')}`).join('; ');
}

/** Where a record lives in the UI. */
export function recordPath(entityName, id) {
  return `/${entityName}/${id}`;
}
