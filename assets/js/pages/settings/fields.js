// #/settings/fields: the data dictionary (数据字典). For every picklist field of every entity,
// administrators reorder, relabel (both languages), add and retire options; a value records
// still hold can only be retired. Changes apply at once, without a restart.
import { api } from '../../api.js';
import { h, icon, mount } from '../../dom.js';
import { t } from '../../i18n.js';
import { card, errorText, loadInto, toast } from '../../ui.js';
import { labelOf, loadMeta, resetMeta } from '../../meta.js';

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

function picklistEditor(entity, item) {
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
    h('h3', {}, labelOf(entity, item.field)),
    banner,
    h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
      h('thead', {}, h('tr', {}, [t('fields.value'), t('fields.label_zh'), t('fields.label_en'), t('fields.active'), t('common.actions')].map((l) => h('th', { scope: 'col' }, l)))),
      tbody)),
    h('div', { class: 'form-actions' }, add, save));
}

export function fieldsPage() {
  document.title = `${t('nav.fields')} · ${t('app.name')}`;
  const body = h('div');
  loadInto(body, async () => [await loadMeta(), await api('GET', '/settings/picklists')], ([meta, lists]) => {
    const byEntity = new Map();
    for (const item of lists.items) {
      if (!byEntity.has(item.entity)) byEntity.set(item.entity, []);
      byEntity.get(item.entity).push(item);
    }
    return h('div', {}, [...byEntity].map(([name, items]) => {
      const entity = meta.get(name);
      return entity ? card(entity.label, items.map((item) => picklistEditor(entity, item))) : null;
    }));
  });
  return h('div', { class: 'page' },
    h('header', { class: 'page-header' }, h('h1', {}, t('nav.fields')), h('p', { class: 'muted' }, t('fields.intro'))),
    body);
}
