// The generic record form, drawn from metadata: the right control per field type, every server
// field error beside its field, and an honest answer to a concurrent edit (409): the user is
// told someone else saved first and can load the current version; nothing is overwritten.
import { api } from '../../api.js';
import { h } from '../../dom.js';
import { fromZonedInput, toZonedInput } from '../../format.js';
import { t } from '../../i18n.js';
import { mayView, session } from '../../session.js';
import { createForm, errorText, openDialog, toast } from '../../ui.js';
import { linesEditor } from './lines.js';

/** Options for reference and user fields, loaded before the form is drawn. */
async function lookups(entity) {
  const found = {};
  for (const field of entity.fields) {
    if (field.type === 'reference' && !found[field.name]) {
      // A module the person may not view offers nothing to choose (and is not asked for).
      const answer = mayView(field.reference)
        ? await api('GET', `/${field.reference}?per_page=200&sort=-updated_at`).catch(() => ({ items: [] }))
        : { items: [] };
      found[field.name] = answer.items.map((r) => [r.id, r.name ?? r.title ?? `#${r.id}`]);
    } else if (field.type === 'user') {
      // Whoever may only keep records themself is offered only themself.
      const answer = canAssign(entity) ? await api('GET', '/directory?per_page=200') : { items: [session.user] };
      found[field.name] = answer.items.map((u) => [u.id, u.display_name]);
    }
  }
  return found;
}

/** Picklist options a form offers: the active ones, plus a retired one the record still holds. */
function offered(field, value) {
  const held = new Set(Array.isArray(value) ? value : [value]);
  return field.options.filter((o) => o.active || held.has(o.value));
}

/** The control spec for one field, with the record's current value. */
function controlFor(field, record, options) {
  const value = record?.[field.name];
  const spec = { name: field.name, label: field.label, required: field.required, value };
  switch (field.type) {
    case 'long_text':
      return { ...spec, type: 'textarea', value: value ?? '' };
    case 'bool':
      return { ...spec, type: 'checkbox', required: false };
    case 'picklist':
      return { ...spec, type: 'select', value: value ?? (record ? '' : field.default ?? ''), options: [['', '—'], ...offered(field, value).map((o) => [o.value, o.label])] };
    case 'multi_picklist':
      return { ...spec, type: 'checkboxes', value: value || [], options: offered(field, value).map((o) => [o.value, o.label]) };
    case 'tags':
      return { ...spec, value: (value || []).join(', '), hint: t('records.tags_hint') };
    case 'datetime':
      return { ...spec, type: 'datetime-local', value: toZonedInput(value) };
    case 'date':
      return { ...spec, type: 'date', value: value ?? '' };
    case 'integer':
      return { ...spec, type: 'number', step: 1, value: value ?? '' };
    case 'money':
      return { ...spec, type: 'number', step: 0.01, value: value === null || value === undefined ? '' : value / 100 };
    case 'reference':
      return { ...spec, type: 'select', value: value ?? '', options: [['', '—'], ...(options[field.name] || [])] };
    case 'user':
      // A new record's person is the one creating it until they choose someone else.
      return { ...spec, type: 'select', value: value ?? (record ? '' : session.user.id), options: [['', '—'], ...(options[field.name] || [])] };
    case 'lookup':
      return { ...spec, type: 'select', value: value ?? '', options: [['', '—'], ...field.options.map((o) => [o.value, o.label])] };
    case 'currency':
      return { ...spec, value: value ?? session.user?.company?.currency ?? 'CNY', maxlength: 3 };
    case 'email':
      return { ...spec, type: 'email', value: value ?? '', maxlength: 254 };
    case 'phone':
      return { ...spec, type: 'tel', value: value ?? '', maxlength: 40 };
    case 'url':
      return { ...spec, value: value ?? '', placeholder: 'https://' };
    default:
      return { ...spec, value: value ?? '', maxlength: field.max_length };
  }
}

/** A form value back to what the API takes. */
function parseValue(field, raw) {
  if (field.type === 'bool') return Boolean(raw);
  if (field.type === 'multi_picklist') return raw;
  if (field.type === 'tags') return raw.split(/[,，]/).map((s) => s.trim()).filter(Boolean);
  if (raw === '' || raw === null || raw === undefined) return null;
  switch (field.type) {
    case 'datetime': return fromZonedInput(raw);
    case 'integer': return Number(raw);
    case 'money': return Math.round(Number(raw) * 100);
    case 'reference':
    case 'lookup':
    case 'user': return Number(raw);
    default: return raw;
  }
}

const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * Opens a dialog to create (record null) or edit a record. `preset` fixes values the context
 * decides (the customer of a new contact) and leaves them out of the form.
 */
export async function openRecordForm(entity, record, { preset = {}, onSaved } = {}) {
  const editing = Boolean(record);
  let options = {};
  try {
    options = await lookups(entity);
  } catch (error) {
    toast(errorText(error), 'error');
  }
  // The record a task is about comes from the page it is added on, never typed as an id.
  const linked = (f) => f.type === 'entity' || f.name === entity.link?.field;
  const writable = entity.fields.filter((f) => !f.system && !f.read_only && !(editing && f.create_only) && !(f.name in preset) && !linked(f));
  const editable = writable.filter((f) => f.type !== 'lines');
  const lines = writable.find((f) => f.type === 'lines');
  const editor = lines ? linesEditor(lines.label, record?.lines || []) : null;
  let base = record;
  const form = createForm({
    fields: editable.map((f) => controlFor(f, record, options)),
    submitLabel: t('common.save'),
    async onSubmit(values) {
      const body = {};
      for (const field of editable) {
        const value = parseValue(field, values[field.name]);
        if (editing ? !same(value, base[field.name]) : value !== null && !(Array.isArray(value) && !value.length)) body[field.name] = value;
      }
      if (editor) {
        const chosen = editor.value();
        const held = (base?.lines || []).map(({ product_id, quantity, unit_price, discount_bp }) => ({ product_id, quantity, unit_price, discount_bp }));
        if (!same(chosen, held)) body.lines = chosen;
        // With lines, the amount is their sum: the server computes it.
        if (chosen.length) delete body.amount;
      }
      const send = (extra = {}) => (editing
        ? api('PATCH', `/${entity.name}/${record.id}`, { ...body, ...extra, version: base.version })
        : api('POST', `/${entity.name}`, { ...preset, ...body, ...extra }));
      const done = (saved) => {
        dialog.close();
        toast(t('common.saved'));
        onSaved?.(saved);
      };
      let saved;
      try {
        saved = await send();
      } catch (error) {
        form.el.querySelector('.conflict-actions')?.remove();
        const overrule = error.code === 'duplicate' ? 'confirm_duplicate' : Object.values(error.fieldCodes).map((code) => CONFIRMABLE[code]).find(Boolean);
        if (overrule) {
          form.el.querySelector('.banner-error').after(h('div', { class: 'conflict-actions' },
            error.code === 'duplicate' && error.current ? h('a', { class: 'btn', href: `#/${entity.name}/${error.current.id}`, on: { click: () => dialog.close() } }, t('records.open_existing')) : null, ' ',
            h('button', { class: 'btn btn-primary', type: 'button', on: { click: async () => {
              try {
                done(await send({ [overrule]: true }));
              } catch (again) {
                form.showErrors(again.fields, errorText(again));
              }
            } } }, t('records.save_anyway'))));
        }
        if (error.code === 'version_conflict' && error.current) {
          base = error.current;
          error.message = t('records.conflict');
          form.el.querySelector('.banner-error').after(h('div', { class: 'conflict-actions' },
            t('records.conflict_hint'), ' ',
            h('button', { class: 'btn', type: 'button', on: { click: () => { dialog.close(); openRecordForm(entity, base, { preset, onSaved }); } } }, t('records.load_current'))));
        }
        throw error;
      }
      done(saved);
    },
  });
  if (editor) form.el.querySelector('.form-actions').before(editor.el);
  const title = editing ? t('records.edit', { entity: entity.label_one }) : t('records.new', { entity: entity.label_one });
  const dialog = openDialog(title, form.el);
  dialog.classList.add('dialog-wide');
  form.el.querySelector('input, select, textarea')?.focus();
  return dialog;
}

/** Refusals a person may overrule by saving anyway, and the instruction that says so. */
const CONFIRMABLE = { exceeds_contract: 'confirm_overpayment', exceeds_invoiceable: 'confirm_overinvoicing' };

/** Whether the signed-in user may hand records of `entity` to others (any scope beyond own). */
export function canAssign(entity) {
  return Boolean(session.user) && entity.permissions.scope !== 'own' && entity.permissions.actions.includes('edit');
}
