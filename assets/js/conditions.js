// Conditions on a record's fields, as approval steps and automation rules state them: a field,
// a comparison and a value of the field's kind. Numbers, money and dates compare by size;
// picklists, texts and switches by equality (the engine refuses anything else).
import { h, mount } from './dom.js';
import { t } from './i18n.js';
import { formatDate, formatNumber } from './format.js';
import { optionLabel } from './meta.js';

const ORDERED = ['gt', 'gte', 'lt', 'lte'];
const OPS = [...ORDERED, 'eq', 'ne'];
const ORDERED_TYPES = ['money', 'integer', 'date'];
const CONDITION_TYPES = [...ORDERED_TYPES, 'picklist', 'text', 'bool', 'currency'];

export const select = (options, value, label) => h('select', { class: 'input', 'aria-label': label },
  options.map(([v, text]) => h('option', { value: v, selected: String(v) === String(value ?? '') }, text)));

/** The fields of `entity` a condition may test. */
export const conditionFields = (entity) => entity.fields.filter((f) => CONDITION_TYPES.includes(f.type) && !f.system);

/** A field's value in words, as a person would read it. */
export function valueText(field, value) {
  if (field?.type === 'money') return formatNumber(value / 100);
  if (field?.type === 'date') return formatDate(value);
  if (field?.options) return optionLabel(field, value);
  if (typeof value === 'boolean') return t(value ? 'common.yes' : 'common.no');
  return value;
}

export function conditionText(entity, condition) {
  const field = entity.fields.find((f) => f.name === condition.field);
  return t('flows.condition_text', { field: field?.label ?? condition.field, op: t(`flows.op.${condition.op}`), value: valueText(field, condition.value) });
}

/** An input for a value of `field`, and `read()` the value as the API takes it. */
export function valueInput(field, initial, label = t('flows.value')) {
  let input;
  if (field?.options) input = select(field.options.map((o) => [o.value, o.label]), initial, label);
  else if (field?.type === 'bool') input = select([['true', t('common.yes')], ['false', t('common.no')]], String(initial ?? true), label);
  else if (field?.type === 'money' || field?.type === 'integer') {
    const shown = initial === undefined || initial === null ? '' : (field.type === 'money' ? initial / 100 : initial);
    input = h('input', { class: 'input', type: 'number', step: field.type === 'money' ? '0.01' : '1', value: shown, 'aria-label': label });
  } else if (field?.type === 'date') input = h('input', { class: 'input', type: 'date', value: initial ?? '', 'aria-label': label });
  else input = h('input', { class: 'input', value: initial ?? '', 'aria-label': label });
  const read = () => {
    const raw = input.value;
    if (field?.type === 'money') return Math.round(Number(raw) * 100);
    if (field?.type === 'integer') return Number(raw);
    if (field?.type === 'bool') return raw === 'true';
    return raw;
  };
  return { el: input, read };
}

/** The controls of one condition over `entity`'s fields; `value()` the condition. */
export function conditionEditor(entity, initial) {
  const fields = conditionFields(entity);
  const field = select(fields.map((f) => [f.name, f.label]), initial?.field, t('flows.field'));
  const op = h('select', { class: 'input', 'aria-label': t('flows.op_label') });
  const slot = h('span', { class: 'flow-value' });
  let input;
  const chosen = () => fields.find((f) => f.name === field.value);
  const draw = (start) => {
    const f = chosen();
    const ordered = f && ORDERED_TYPES.includes(f.type);
    mount(op, (ordered ? OPS : ['eq', 'ne']).map((o) => h('option', { value: o, selected: o === (start?.op ?? (ordered ? 'gt' : 'eq')) }, t(`flows.op.${o}`))));
    input = valueInput(f, start?.value);
    mount(slot, input.el);
  };
  field.addEventListener('change', () => draw(null));
  draw(initial);
  return {
    el: h('div', { class: 'flow-condition' }, field, op, slot),
    empty: fields.length === 0,
    value: () => (chosen() ? { field: field.value, op: op.value, value: input.read() } : null),
  };
}
