// The list's filter builder: any field (custom ones too) with the operators its type allows,
// applied as `filter[FIELD]` / `filter[FIELD][OP]` list parameters and shown as removable chips.
import { h, icon, mount } from '../../dom.js';
import { t } from '../../i18n.js';
import { field, openDialog } from '../../ui.js';
import { labelOf, optionLabel } from '../../meta.js';
import { formatMoney } from '../../format.js';
import { session } from '../../session.js';

const TEXT = ['contains', 'eq', 'ne', 'empty'];
const NUMBER = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'empty'];
const OPERATORS = {
  text: TEXT, long_text: ['contains', 'empty'], phone: TEXT, email: TEXT, url: TEXT,
  integer: NUMBER, money: NUMBER,
  date: ['eq', 'gte', 'lte', 'empty'], datetime: ['gte', 'lte', 'empty'],
  bool: ['eq'],
  picklist: ['eq', 'ne', 'empty'],
  multi_picklist: ['contains', 'ne', 'empty'], tags: ['contains', 'ne', 'empty'],
};

const filterable = (entity) => entity.fields.filter((f) => OPERATORS[f.type]);

/** `filter[name]` or `filter[name][op]` → [name, op]. */
function parseKey(key) {
  const match = /^filter\[([^\]]+)\](?:\[([a-z_]+)\])?$/.exec(key);
  return match ? [match[1], match[2] || 'eq'] : null;
}

const keyOf = (name, op) => (op === 'eq' ? `filter[${name}]` : `filter[${name}][${op}]`);

/** The value as the API wants it, from what the person typed. */
function toApi(type, op, raw) {
  if (op === 'empty') return raw;
  if (type === 'money') {
    const yuan = Number(raw);
    return Number.isFinite(yuan) ? String(Math.round(yuan * 100)) : raw;
  }
  return raw.trim();
}

function describeValue(f, op, value) {
  if (op === 'empty' || f.type === 'bool') return value === 'true' ? t('common.yes') : t('common.no');
  if (f.type === 'money') return formatMoney(Number(value), session.user?.company?.currency || 'CNY');
  if (f.type === 'picklist' || f.type === 'multi_picklist') return optionLabel(f, value);
  return value;
}

/** The value control for a field and operator. */
function valueControl(f, op) {
  const spec = { name: 'value', label: t('filters.value') };
  if (op === 'empty' || f.type === 'bool') {
    return field({ ...spec, type: 'select', options: [['true', t('common.yes')], ['false', t('common.no')]] });
  }
  if ((f.type === 'picklist' || f.type === 'multi_picklist') && f.options) {
    return field({ ...spec, type: 'select', options: f.options.map((o) => [o.value, o.label]) });
  }
  if (f.type === 'date' || f.type === 'datetime') return field({ ...spec, type: 'date' });
  if (f.type === 'integer') return field({ ...spec, type: 'number', step: 1 });
  if (f.type === 'money') return field({ ...spec, type: 'number', step: 0.01, hint: t('filters.money_hint') });
  return field({ ...spec, maxlength: 200 });
}

function openBuilder(entity, state, apply) {
  const fields = filterable(entity);
  const fieldSelect = field({ name: 'field', label: t('filters.field'), type: 'select', options: fields.map((f) => [f.name, f.label]) });
  const opSlot = h('div');
  const valueSlot = h('div');
  let op = null;
  let value = null;
  const current = () => fields.find((f) => f.name === fieldSelect.input.value);
  const drawValue = () => {
    value = valueControl(current(), op.input.value);
    mount(valueSlot, value.el);
  };
  const drawOp = () => {
    op = field({ name: 'op', label: t('filters.operator'), type: 'select', options: OPERATORS[current().type].map((o) => [o, t(`filters.op.${o}`)]) });
    op.input.addEventListener('change', drawValue);
    mount(opSlot, op.el);
    drawValue();
  };
  fieldSelect.input.addEventListener('change', drawOp);
  drawOp();
  const add = h('button', { class: 'btn btn-primary', type: 'submit' }, icon('plus'), t('filters.add'));
  const form = h('form', { class: 'form filter-builder', novalidate: true, on: { submit: (event) => {
    event.preventDefault();
    const f = current();
    const raw = String(value.input.value ?? '');
    if (!raw.trim()) {
      value.setError(t('field_error.required'));
      value.input.focus();
      return;
    }
    state.filters[keyOf(f.name, op.input.value)] = toApi(f.type, op.input.value, raw);
    dialog.close();
    apply();
  } } }, fieldSelect.el, opSlot, valueSlot, h('div', { class: 'form-actions' }, add));
  const dialog = openDialog(t('filters.title'), form);
}

/**
 * The "Filter" button and the chips of the filters in force. `quickKeys` are the keys the
 * toolbar's own selects show, left out of the chips.
 */
export function filterBar(entity, state, quickKeys, apply) {
  const chips = h('div', { class: 'filter-chips', 'aria-live': 'polite' });
  const fields = new Map(filterable(entity).map((f) => [f.name, f]));
  const sync = () => {
    const shown = Object.entries(state.filters).filter(([key, value]) => value !== '' && !quickKeys.includes(key)).map(([key, value]) => {
      const parsed = parseKey(key);
      const f = parsed && fields.get(parsed[0]);
      const text = f ? `${labelOf(entity, f.name)} ${t(`filters.op.${parsed[1]}`)} ${describeValue(f, parsed[1], value)}` : `${key} = ${value}`;
      return h('span', { class: 'chip' }, text,
        h('button', { class: 'chip-remove', type: 'button', 'aria-label': t('filters.remove', { filter: text }), title: t('filters.remove', { filter: text }),
          on: { click: () => { delete state.filters[key]; apply(); } } }, '×'));
    });
    mount(chips, shown);
    chips.hidden = shown.length === 0;
  };
  const button = h('button', { class: 'btn', type: 'button', on: { click: () => openBuilder(entity, state, apply) } }, icon('filter'), t('filters.open'));
  sync();
  return { button, chips, sync };
}
