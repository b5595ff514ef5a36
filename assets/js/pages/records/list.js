// #/E: the generic list of any entity. Search, picklist filters, sort by column header, a column
// chooser remembered per user, paging, export; every state (loading, empty, error) shown.
import { api } from '../../api.js';
import { h, icon, mount } from '../../dom.js';
import { t } from '../../i18n.js';
import { navigate } from '../../router.js';
import { session } from '../../session.js';
import { errorState, field, loading, emptyState, openDialog, pager, table } from '../../ui.js';
import { can, describe, display, labelOf, loadMeta, recordPath } from '../../meta.js';
import { openRecordForm } from './form.js';

const storageKey = (entity) => `kehu.columns.${session.user.id}.${entity}`;

function savedColumns(entity) {
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey(entity.name)) || 'null');
    if (Array.isArray(saved)) return saved.filter((name) => name === 'owner_id' || name === 'updated_at' || entity.fields.some((f) => f.name === name));
  } catch {
    // A damaged preference falls back to the defaults.
  }
  return null;
}

function columnChooser(entity, current, apply) {
  const all = [...entity.fields.map((f) => f.name), ...(entity.owned ? ['owner_id', 'department_id'] : []), 'created_at', 'updated_at'];
  const chosen = new Set(current);
  const boxes = all.map((name) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', value: name, checked: chosen.has(name) }), h('span', {}, labelOf(entity, name))));
  const dialog = openDialog(t('records.columns'), h('div', { class: 'form' },
    h('div', { class: 'checks columns-grid' }, boxes),
    h('div', { class: 'form-actions' },
      h('button', { class: 'btn', type: 'button', on: { click: () => {
        localStorage.removeItem(storageKey(entity.name));
        dialog.close();
        apply(entity.list_columns);
      } } }, t('records.columns_reset')),
      h('button', { class: 'btn btn-primary', type: 'button', on: { click: () => {
        const picked = boxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
        if (!picked.length) return;
        localStorage.setItem(storageKey(entity.name), JSON.stringify(picked));
        dialog.close();
        apply(picked);
      } } }, t('common.save')))));
}

/** The list screen for `entityName`; `query` may carry q, sort, page and filter[...] values. */
export function listPage(entityName) {
  return (params, query) => {
    const root = h('div', { class: 'page' }, loading());
    loadMeta().then((meta) => {
      const entity = meta.get(entityName);
      if (!entity) {
        mount(root, errorState({ message: t('error.not_found') }));
        return;
      }
      mount(root, listView(entity, query));
    }).catch((error) => mount(root, errorState(error, () => navigate(`/${entityName}`))));
    return root;
  };
}

function listView(entity, query) {
  document.title = `${entity.label} · ${t('app.name')}`;
  const state = {
    q: query.get('q') || '',
    sort: query.get('sort') || entity.default_sort,
    page: Number(query.get('page')) || 1,
    filters: Object.fromEntries([...query.entries()].filter(([k]) => k.startsWith('filter['))),
    columns: savedColumns(entity) || entity.list_columns,
  };
  const results = h('div', { class: 'list-results' });
  const params = () => {
    const p = new URLSearchParams({ sort: state.sort, page: state.page, per_page: 20 });
    if (state.q) p.set('q', state.q);
    for (const [k, v] of Object.entries(state.filters)) if (v !== '') p.set(k, v);
    return p;
  };
  const sortBy = (name) => {
    state.sort = state.sort === name ? `-${name}` : name;
    state.page = 1;
    refresh();
  };
  const header = (name) => {
    const f = describe(entity, name);
    const label = labelOf(entity, name);
    if (!f.sortable && !['created_at', 'updated_at', 'owner_id'].includes(name)) return label;
    const direction = state.sort === name ? 'ascending' : state.sort === `-${name}` ? 'descending' : null;
    return h('button', { class: `sort ${direction || ''}`, type: 'button', 'aria-sort': direction || 'none', on: { click: () => sortBy(name) } },
      label, direction ? h('span', { 'aria-hidden': 'true' }, direction === 'ascending' ? ' ▲' : ' ▼') : null);
  };
  const refresh = async () => {
    history.replaceState(null, '', `#/${entity.name}?${params()}`);
    mount(results, loading());
    try {
      const answer = await api('GET', `/${entity.name}?${params()}`);
      const columns = state.columns.map((name, index) => ({
        label: header(name),
        cell: (record) => (index === 0
          ? h('a', { href: `#${recordPath(entity.name, record.id)}`, class: 'record-link' }, display(entity, name, record))
          : display(entity, name, record)),
      }));
      const filtered = state.q || Object.values(state.filters).some((v) => v !== '');
      mount(results, answer.total === 0
        ? emptyState('inbox', filtered ? t('records.no_match') : t('records.empty', { entity: entity.label }))
        : [table(columns, answer.items, ''), pager(answer, (page) => { state.page = page; refresh(); })]);
    } catch (error) {
      mount(results, errorState(error, refresh));
    }
  };

  const search = field({ name: 'q', label: t('common.search'), type: 'search', value: state.q });
  let timer;
  search.input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => { state.q = search.input.value.trim(); state.page = 1; refresh(); }, 250);
  });
  const picklists = entity.fields.filter((f) => f.type === 'picklist').slice(0, 3).map((f) => {
    const key = `filter[${f.name}]`;
    const control = field({ name: f.name, label: f.label, type: 'select', value: state.filters[key] || '',
      options: [['', t('common.all')], ...f.options.map((o) => [o.value, o.label])] });
    control.input.addEventListener('change', () => { state.filters[key] = control.input.value; state.page = 1; refresh(); });
    return control.el;
  });
  const mine = entity.owned ? (() => {
    const key = 'filter[owner_id]';
    const control = field({ name: 'mine', label: t('records.owner_filter'), type: 'select', value: state.filters[key] || '',
      options: [['', t('common.all')], [String(session.user.id), t('records.mine')]] });
    control.input.addEventListener('change', () => { state.filters[key] = control.input.value; state.page = 1; refresh(); });
    return control.el;
  })() : null;

  const exportLink = (format) => h('a', { class: 'btn', href: `/api/v1/${entity.name}/export?${(() => { const p = params(); p.delete('page'); p.delete('per_page'); p.set('format', format); return p; })()}`, download: '' },
    icon('download'), format.toUpperCase());
  const actions = [
    h('button', { class: 'btn', type: 'button', on: { click: () => columnChooser(entity, state.columns, (columns) => { state.columns = columns; refresh(); }) } }, icon('columns'), t('records.columns')),
    can(entity, 'export') ? [exportLink('csv'), exportLink('xlsx')] : null,
    can(entity, 'create') && !entity.parent
      ? h('button', { class: 'btn btn-primary', type: 'button', on: { click: () => openRecordForm(entity, null, { onSaved: (r) => navigate(recordPath(entity.name, r.id)) }) } }, icon('plus'), t('records.new', { entity: entity.label_one }))
      : null,
  ];
  refresh();
  return h('div', { class: 'page' },
    h('header', { class: 'page-header with-actions' }, h('h1', {}, entity.label), h('div', { class: 'header-actions' }, actions)),
    h('div', { class: 'toolbar' }, search.el, picklists, mine),
    results);
}
