// #/settings/fields: fields and the data dictionary (自定义字段/数据字典), per entity.
// Administrators relabel (both languages), reorder and hide any field, add custom fields (and
// make them required, searchable or indexed), and keep the options of every picklist: reorder,
// relabel, add and retire; a value records still hold can only be retired. Changes apply at
// once, without a restart.
import { api } from '../../api.js';
import { h, icon, mount } from '../../dom.js';
import { language, t } from '../../i18n.js';
import { card, createForm, errorText, loadInto, toast } from '../../ui.js';
import { loadMeta, resetMeta } from '../../meta.js';

function optionRow(option, rows, redraw) {
  const input = (key, label) => h('input', { class: 'input', value: option[key], 'aria-label': label, maxlength: key === 'value' ? 40 : 50,
    readonly: key === 'value' && !option.isNew, on: { input: (e) => { option[key] = e.target.value; } } });
  const move = (delta) => {
    const index = rows.indexOf(option);
    const target = index + delta;
    if (target < 0 || target >= rows.length) return;
    rows.splice(index, 1);
    rows.splice(target, 0, option);
    redraw();
  };
  return h('tr', {},
    h('td', { 'data-label': t('fields.value') }, input('value', t('fields.value'))),
    h('td', { 'data-label': t('fields.label_zh') }, input('label_zh', t('fields.label_zh'))),
    h('td', { 'data-label': t('fields.label_en') }, input('label_en', t('fields.label_en'))),
    h('td', { 'data-label': t('fields.active') }, h('input', { type: 'checkbox', checked: option.active, 'aria-label': t('fields.active'), on: { change: (e) => { option.active = e.target.checked; } } })),
    h('td', { class: 'actions', 'data-label': t('common.actions') }, h('div', { class: 'cell' },
      h('button', { class: 'icon-button', type: 'button', 'aria-label': t('fields.move_up'), title: t('fields.move_up'), on: { click: () => move(-1) } }, '↑'),
      h('button', { class: 'icon-button', type: 'button', 'aria-label': t('fields.move_down'), title: t('fields.move_down'), on: { click: () => move(1) } }, '↓'),
      h('button', { class: 'icon-button', type: 'button', 'aria-label': t('fields.remove'), title: t('fields.remove'), on: { click: () => { rows.splice(rows.indexOf(option), 1); redraw(); } } }, icon('trash')))));
}

function picklistEditor(title, item) {
  const rows = item.options.map((o) => ({ ...o }));
  const tbody = h('tbody');
  const banner = h('div', { class: 'banner banner-error', role: 'alert', hidden: true });
  const redraw = () => mount(tbody, rows.map((o) => optionRow(o, rows, redraw)));
  redraw();
  const add = h('button', { class: 'btn', type: 'button', on: { click: () => { rows.push({ value: '', label_zh: '', label_en: '', active: true, isNew: true }); redraw(); tbody.lastChild?.querySelector('input')?.focus(); } } }, icon('plus'), t('fields.add_option'));
  const save = h('button', { class: 'btn btn-primary', type: 'button', on: { click: async () => {
    banner.hidden = true;
    save.disabled = true;
    try {
      const answer = await api('PUT', `/settings/picklists/${item.entity}/${item.field}`, { options: rows.map(({ value, label_zh, label_en, active }) => ({ value: value.trim(), label_zh, label_en, active })) });
      rows.splice(0, rows.length, ...answer.options);
      redraw();
      resetMeta();
      toast(t('common.saved'));
    } catch (error) {
      banner.textContent = [errorText(error), ...Object.values(error.fields || {})].join(' ');
      banner.hidden = false;
    } finally {
      save.disabled = false;
    }
  } } }, t('common.save'));
  return h('section', { class: 'picklist' },
    h('h3', {}, title),
    banner,
    h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
      h('thead', {}, h('tr', {}, [t('fields.value'), t('fields.label_zh'), t('fields.label_en'), t('fields.active'), t('common.actions')].map((l) => h('th', { scope: 'col' }, l)))),
      tbody)),
    h('div', { class: 'form-actions' }, add, save));
}

const CUSTOM_TYPES = ['text', 'long_text', 'integer', 'money', 'date', 'datetime', 'bool', 'picklist', 'multi_picklist', 'phone', 'email', 'url'];

function showFailure(banner, error) {
  banner.textContent = [errorText(error), ...Object.values(error.fields || {})].join(' ');
  banner.hidden = false;
}

/** One field's row: labels, flags, move and save. */
function fieldRow(entityName, field, { move, saved, banner }) {
  const labels = { label_zh: field.label_zh, label_en: field.label_en };
  const flags = { hidden: field.hidden, required: field.required, searchable: field.searchable, indexed: field.indexed };
  const input = (key, label) => h('input', { class: 'input', value: labels[key], 'aria-label': `${label} · ${field.name}`, maxlength: 50,
    on: { input: (e) => { labels[key] = e.target.value; } } });
  const box = (key, label, enabled) => h('input', { type: 'checkbox', checked: flags[key], disabled: !enabled, 'aria-label': `${label} · ${field.name}`,
    on: { change: (e) => { flags[key] = e.target.checked; } } });
  const save = async () => {
    banner.hidden = true;
    const defaults = [field.default_label_zh, field.default_label_en];
    const asDefault = !field.custom && labels.label_zh.trim() === defaults[0] && labels.label_en.trim() === defaults[1];
    const body = asDefault ? { label_zh: null, label_en: null } : { ...labels };
    body.hidden = flags.hidden;
    if (field.custom) Object.assign(body, { required: flags.required, searchable: flags.searchable, indexed: flags.indexed });
    try {
      saved(await api('PATCH', `/settings/fields/${entityName}/${field.name}`, body));
      resetMeta();
      toast(t('common.saved'));
    } catch (error) {
      showFailure(banner, error);
    }
  };
  return h('tr', {},
    h('td', { 'data-label': t('fields.field') }, h('code', {}, field.name), field.custom ? h('span', { class: 'badge badge-info' }, t('fields.custom')) : null),
    h('td', { 'data-label': t('fields.type') }, t(`fields.type.${field.type}`)),
    h('td', { 'data-label': t('fields.label_zh') }, input('label_zh', t('fields.label_zh'))),
    h('td', { 'data-label': t('fields.label_en') }, input('label_en', t('fields.label_en'))),
    h('td', { 'data-label': t('fields.hidden') }, box('hidden', t('fields.hidden'), !field.locked)),
    h('td', { 'data-label': t('fields.required') }, box('required', t('fields.required'), field.custom)),
    h('td', { 'data-label': t('fields.searchable') }, box('searchable', t('fields.searchable'), field.custom)),
    h('td', { 'data-label': t('fields.indexed') }, box('indexed', t('fields.indexed'), field.custom)),
    h('td', { class: 'actions', 'data-label': t('common.actions') }, h('div', { class: 'cell' },
      h('button', { class: 'icon-button', type: 'button', 'aria-label': `${t('fields.move_up')} · ${field.name}`, title: t('fields.move_up'), on: { click: () => move(field.name, -1) } }, '↑'),
      h('button', { class: 'icon-button', type: 'button', 'aria-label': `${t('fields.move_down')} · ${field.name}`, title: t('fields.move_down'), on: { click: () => move(field.name, 1) } }, '↓'),
      h('button', { class: 'btn', type: 'button', on: { click: save } }, t('common.save')))));
}

/** The fields of one entity, in form order, and the form that adds a custom field. */
function fieldsEditor(described, reload) {
  let fields = described.fields;
  const tbody = h('tbody');
  const banner = h('div', { class: 'banner banner-error', role: 'alert', hidden: true });
  const saved = (answer) => { fields = answer.fields; redraw(); };
  const move = async (name, delta) => {
    const names = fields.map((f) => f.name);
    const index = names.indexOf(name);
    const target = index + delta;
    if (target < 0 || target >= names.length) return;
    names.splice(index, 1);
    names.splice(target, 0, name);
    banner.hidden = true;
    try {
      saved(await api('PUT', `/settings/fields/${described.entity}/order`, { names }));
      resetMeta();
    } catch (error) {
      showFailure(banner, error);
    }
  };
  const redraw = () => mount(tbody, fields.filter((f) => !f.system).map((f) => fieldRow(described.entity, f, { move, saved, banner })));
  redraw();
  const heads = [t('fields.field'), t('fields.type'), t('fields.label_zh'), t('fields.label_en'), t('fields.hidden'), t('fields.required'), t('fields.searchable'), t('fields.indexed'), t('common.actions')];
  const add = createForm({
    className: 'form-inline add-field',
    submitLabel: t('fields.add_field'),
    fields: [
      { name: 'key', label: t('fields.key'), required: true, maxlength: 30, hint: t('fields.key_hint') },
      { name: 'type', label: t('fields.type'), type: 'select', value: 'text', options: CUSTOM_TYPES.map((type) => [type, t(`fields.type.${type}`)]) },
      { name: 'label_zh', label: t('fields.label_zh'), required: true, maxlength: 50 },
      { name: 'label_en', label: t('fields.label_en'), required: true, maxlength: 50 },
      { name: 'searchable', label: t('fields.searchable'), type: 'checkbox' },
      { name: 'indexed', label: t('fields.indexed'), type: 'checkbox' },
    ],
    onSubmit: async (values) => {
      await api('POST', `/settings/fields/${described.entity}`, { ...values, key: values.key.trim() });
      resetMeta();
      toast(t('fields.added'));
      reload();
    },
  });
  return [
    banner,
    h('div', { class: 'table-wrap' }, h('table', { class: 'table fields-table' },
      h('thead', {}, h('tr', {}, heads.map((l) => h('th', { scope: 'col' }, l)))), tbody)),
    h('h3', {}, t('fields.add_field')),
    h('p', { class: 'muted' }, t('fields.add_intro')),
    add.el,
  ];
}

let chosenEntity = null;

export function fieldsPage() {
  document.title = `${t('nav.fields')} · ${t('app.name')}`;
  const body = h('div');
  const draw = () => loadInto(body, async () => [await loadMeta(), await api('GET', '/settings/fields'), await api('GET', '/settings/picklists')], ([meta, settings, lists]) => {
    const entities = settings.items.filter((item) => meta.has(item.entity));
    if (!entities.some((e) => e.entity === chosenEntity)) chosenEntity = entities[0]?.entity;
    const described = entities.find((e) => e.entity === chosenEntity);
    const labelIn = (name) => {
      const f = described.fields.find((x) => x.name === name);
      return f ? (language() === 'zh-CN' ? f.label_zh : f.label_en) : name;
    };
    const tabs = h('div', { class: 'tabs', role: 'tablist' }, entities.map((item) => h('button', {
      class: 'tab', type: 'button', role: 'tab', 'aria-selected': String(item.entity === chosenEntity),
      on: { click: () => { chosenEntity = item.entity; draw(); } },
    }, meta.get(item.entity).label)));
    const picklists = lists.items.filter((item) => item.entity === chosenEntity);
    return h('div', {}, tabs,
      card(t('fields.fields_title'), fieldsEditor(described, draw)),
      card(t('fields.picklists_title'), picklists.length
        ? picklists.map((item) => picklistEditor(labelIn(item.field), item))
        : h('p', { class: 'muted' }, t('fields.no_picklists'))));
  });
  draw();
  return h('div', { class: 'page' },
    h('header', { class: 'page-header' }, h('h1', {}, t('nav.fields')), h('p', { class: 'muted' }, t('fields.intro'))),
    body);
}
