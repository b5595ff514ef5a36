// #/E: the generic list of any entity, and #/pool (the customers nobody owns). Search,
// picklist filters, a filter builder over every field, a chart of the list by any picklist,
// sort by column header, a column chooser, saved views per person, paging, export, and bulk actions on a selection; every
// state (loading, empty, error) shown.
import { api } from '../../api.js';
import { h, icon, mount } from '../../dom.js';
import { t } from '../../i18n.js';
import { navigate } from '../../router.js';
import { session } from '../../session.js';
import { confirmAction, createForm, errorState, errorText, field, loading, emptyState, openDialog, pager, table, toast } from '../../ui.js';
import { can, describe, display, labelOf, loadMeta, recordPath } from '../../meta.js';
import { canAssign, openRecordForm } from './form.js';
import { openImport, runningBanner } from './import.js';
import { binLinks } from './bin.js';
import { filterBar } from './filters.js';
import { summaryPanel } from './summary.js';
import { assignRoundRobin } from './sales.js';

const COMMON_COLUMNS = ['owner_id', 'department_id', 'created_at', 'updated_at'];
const storageKey = (entity) => `kehu.columns.${session.user.id}.${entity}`;

function knownColumns(entity, names) {
  return names.filter((name) => COMMON_COLUMNS.includes(name) || entity.fields.some((f) => f.name === name));
}

function savedColumns(entity) {
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey(entity.name)) || 'null');
    if (Array.isArray(saved)) return knownColumns(entity, saved);
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
export function listPage(entityName, { pool = false } = {}) {
  return (params, query) => {
    const root = h('div', { class: 'page' }, loading());
    loadMeta().then((meta) => {
      const entity = meta.get(entityName);
      if (!entity || (pool && !entity.pooled)) {
        mount(root, errorState({ message: t('error.not_found') }));
        return;
      }
      mount(root, listView(entity, query, pool));
    }).catch((error) => mount(root, errorState(error, () => navigate(pool ? '/pool' : `/${entityName}`))));
    return root;
  };
}

/** Where a list reads from and lives, in the API and in the browser. */
function placeOf(entity, pool) {
  return pool
    ? { api: `/pool/${entity.name}`, route: '/pool', title: t('pool.title') }
    : { api: `/${entity.name}`, route: `/${entity.name}`, title: entity.label };
}

function listView(entity, query, pool) {
  const place = placeOf(entity, pool);
  document.title = `${place.title} · ${t('app.name')}`;
  const state = {
    q: query.get('q') || '',
    // Empty: the server's order (the default sort; newest first while searching).
    sort: query.get('sort') || '',
    page: Number(query.get('page')) || 1,
    filters: Object.fromEntries([...query.entries()].filter(([k]) => k.startsWith('filter['))),
    columns: savedColumns(entity) || entity.list_columns,
    selected: new Set(),
  };
  const results = h('div', { class: 'list-results' });
  let chart = null;
  const bulkBar = h('div', { class: 'bulk-bar', hidden: true, role: 'region', 'aria-label': t('bulk.title') });
  const listQuery = () => {
    const p = new URLSearchParams();
    if (state.sort) p.set('sort', state.sort);
    if (state.q) p.set('q', state.q);
    for (const [k, v] of Object.entries(state.filters)) if (v !== '') p.set(k, v);
    return p;
  };
  const params = () => {
    const p = listQuery();
    p.set('page', state.page);
    p.set('per_page', 20);
    return p;
  };
  const shownSort = () => state.sort || (state.q ? '' : entity.default_sort);
  const sortBy = (name) => {
    state.sort = shownSort() === name ? `-${name}` : name;
    state.page = 1;
    refresh();
  };
  const header = (name) => {
    const f = describe(entity, name);
    const label = labelOf(entity, name);
    if (!f.sortable && !['created_at', 'updated_at', 'owner_id'].includes(name)) return label;
    const sort = shownSort();
    const direction = sort === name ? 'ascending' : sort === `-${name}` ? 'descending' : null;
    return h('button', { class: `sort ${direction || ''}`, type: 'button', 'aria-sort': direction || 'none', on: { click: () => sortBy(name) } },
      label, direction ? h('span', { 'aria-hidden': 'true' }, direction === 'ascending' ? ' ▲' : ' ▼') : null);
  };
  const bulkActions = pool ? [] : offeredBulkActions(entity);
  const drawBulkBar = () => {
    bulkBar.hidden = state.selected.size === 0;
    mount(bulkBar, h('span', { class: 'bulk-count' }, t('bulk.selected', { count: state.selected.size })),
      bulkActions.map((action) => h('button', { class: `btn ${action.danger ? 'btn-danger-outline' : ''}`, type: 'button',
        on: { click: () => action.run(entity, [...state.selected], done) } }, icon(action.icon), action.label)),
      can(entity, 'export') ? exportLink('xlsx', selectionQuery()) : null,
      h('button', { class: 'btn', type: 'button', on: { click: () => { state.selected.clear(); refresh(); } } }, t('bulk.clear')));
  };
  const selectionQuery = () => {
    const p = new URLSearchParams();
    if (state.sort) p.set('sort', state.sort);
    p.set('filter[id][in]', [...state.selected].join(','));
    return p;
  };
  const done = (answer) => {
    const failed = answer.results.filter((r) => r.status !== 'ok');
    toast(failed.length ? t('bulk.partly_done', { done: answer.done, failed: failed.length }) : t('bulk.done', { done: answer.done }),
      failed.length ? 'error' : 'ok');
    state.selected.clear();
    refresh();
  };
  const selectBox = (record, boxes) => {
    const box = h('input', { type: 'checkbox', checked: state.selected.has(record.id), 'aria-label': t('bulk.select_one', { name: record[entity.title_field] ?? `#${record.id}` }),
      on: { change: () => {
        if (box.checked) state.selected.add(record.id); else state.selected.delete(record.id);
        drawBulkBar();
        boxes.syncAll();
      } } });
    return box;
  };
  const claimButton = (record) => h('button', { class: 'btn', type: 'button', on: { click: () => claim(entity, record, refresh) } }, t('pool.claim'));
  const refresh = async () => {
    history.replaceState(null, '', `#${place.route}?${params()}`);
    chart?.refresh();
    mount(results, loading());
    drawBulkBar();
    try {
      const answer = await api('GET', `${place.api}?${params()}`);
      const linked = !pool || can(entity, 'edit');
      const columns = state.columns.map((name, index) => ({
        label: header(name),
        cell: (record) => (index === 0 && linked && !pool
          ? h('a', { href: `#${recordPath(entity.name, record.id)}`, class: 'record-link' }, display(entity, name, record))
          : display(entity, name, record)),
      }));
      if (bulkActions.length) {
        const all = h('input', { type: 'checkbox', 'aria-label': t('bulk.select_page') });
        const boxes = { list: [], syncAll() { all.checked = this.list.length > 0 && this.list.every((b) => b.checked); } };
        all.addEventListener('change', () => {
          for (const record of answer.items) { if (all.checked) state.selected.add(record.id); else state.selected.delete(record.id); }
          for (const box of boxes.list) box.checked = all.checked;
          drawBulkBar();
        });
        columns.unshift({ label: all, className: 'select-cell', cell: (record) => { const box = selectBox(record, boxes); boxes.list.push(box); return box; } });
        queueMicrotask(() => boxes.syncAll());
      }
      if (pool && can(entity, 'edit')) columns.push({ label: t('common.actions'), className: 'actions-cell', cell: claimButton });
      const filtered = state.q || Object.values(state.filters).some((v) => v !== '');
      const empty = pool ? t('pool.empty') : t('records.empty', { entity: entity.label });
      mount(results, answer.total === 0
        ? emptyState('inbox', filtered ? t('records.no_match') : empty)
        : [table(columns, answer.items, ''), pager(answer, (page) => { state.page = page; refresh(); })]);
    } catch (error) {
      mount(results, errorState(error, refresh));
    }
  };
  const reload = () => { state.page = 1; refresh(); };

  const search = field({ name: 'q', label: t('common.search'), type: 'search', value: state.q });
  let timer;
  search.input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => { state.q = search.input.value.trim(); reload(); }, 250);
  });
  const filterControls = entity.fields.filter((f) => f.type === 'picklist').slice(0, 3).map((f) => {
    const key = `filter[${f.name}]`;
    const control = field({ name: f.name, label: f.label, type: 'select', value: state.filters[key] || '',
      options: [['', t('common.all')], ...f.options.map((o) => [o.value, o.label])] });
    control.input.addEventListener('change', () => { state.filters[key] = control.input.value; reload(); });
    return { key, control };
  });
  const mine = entity.owned && !pool ? ownershipControl(entity, state, reload) : null;
  const controls = [...filterControls, mine].filter(Boolean);
  const quickKeys = controls.flatMap((c) => c.keys || [c.key]);
  const filters = filterBar(entity, state, quickKeys, () => { filters.sync(); mine?.sync(); reload(); });
  chart = pool ? null : summaryPanel(entity, listQuery, ([key, value]) => {
    state.filters[key] = value;
    const quick = filterControls.find((c) => c.key === key);
    if (quick) quick.control.input.value = value;
    filters.sync();
    reload();
  });
  /** Puts a saved view's query and columns into the screen. */
  const applyView = (view) => {
    const q = view?.query || {};
    state.q = q.q || '';
    state.sort = q.sort || '';
    state.filters = Object.fromEntries(Object.entries(q).filter(([k]) => k.startsWith('filter[')));
    if (view?.columns?.length) state.columns = knownColumns(entity, view.columns);
    search.input.value = state.q;
    for (const { key, control } of filterControls) control.input.value = state.filters[key] || '';
    mine?.sync();
    filters.sync();
    reload();
  };

  const exportLink = (format, p = listQuery()) => {
    p.set('format', format);
    return h('a', { class: 'btn', href: `/api/v1/${entity.name}/export?${p}`, download: '' }, icon('download'), format.toUpperCase());
  };
  const importing = can(entity, 'import') && !pool ? runningBanner(entity, reload) : null;
  const actions = [
    chart?.toggle,
    h('button', { class: 'btn', type: 'button', on: { click: () => columnChooser(entity, state.columns, (columns) => { state.columns = columns; refresh(); }) } }, icon('columns'), t('records.columns')),
    can(entity, 'export') && !pool ? [exportLink('csv'), exportLink('xlsx')] : null,
    can(entity, 'import') && !pool ? h('button', { class: 'btn', type: 'button', on: { click: () => openImport(entity, { onDone: reload, onClose: () => importing?.check() }) } }, icon('upload'), t('import.open')) : null,
    pool ? null : binLinks(entity),
    can(entity, 'create') && !entity.parent && !pool
      ? h('button', { class: 'btn btn-primary', type: 'button', on: { click: () => openRecordForm(entity, null, { onSaved: (r) => navigate(recordPath(entity.name, r.id)) }) } }, icon('plus'), t('records.new', { entity: entity.label_one }))
      : null,
  ];
  refresh();
  return h('div', { class: 'page' },
    h('header', { class: 'page-header with-actions' }, h('h1', {}, place.title), h('div', { class: 'header-actions' }, actions)),
    pool ? poolSummary() : null,
    importing?.el,
    h('div', { class: 'toolbar' }, search.el, controls.map((c) => c.control.el), filters.button, pool ? null : viewPicker(entity, () => ({ query: Object.fromEntries(listQuery()), columns: state.columns }), applyView)),
    filters.chips,
    chart?.panel,
    bulkBar,
    results);
}

/**
 * The toolbar's "whose records" select: all, the caller's own, or the ones the caller created
 * (for tasks: "my tasks" and "tasks I assigned", since a task is owned by its assignee).
 */
function ownershipControl(entity, state, reload) {
  const me = String(session.user.id);
  const presets = { owner: 'filter[owner_id]', created: 'filter[created_by]' };
  const keys = Object.values(presets);
  const labels = entity.name === 'tasks' ? { owner: 'tasks.mine', created: 'tasks.assigned_by_me' } : { owner: 'records.mine', created: 'records.created_by_me' };
  const label = (preset) => t(labels[preset]);
  const current = () => Object.keys(presets).find((preset) => state.filters[presets[preset]] === me) || '';
  const control = field({ name: 'mine', label: t('records.owner_filter'), type: 'select', value: current(),
    options: [['', t('common.all')], ['owner', label('owner')], ['created', label('created')]] });
  control.input.addEventListener('change', () => {
    for (const key of keys) delete state.filters[key];
    if (control.input.value) state.filters[presets[control.input.value]] = me;
    reload();
  });
  return { keys, control, sync: () => { control.input.value = current(); } };
}

/** The saved views of this list: pick one, save the current one, delete the picked one. */
function viewPicker(entity, current, apply) {
  const control = field({ name: 'view', label: t('views.title'), type: 'select', options: [] });
  const select = control.input;
  const remove = h('button', { class: 'icon-button', type: 'button', hidden: true, 'aria-label': t('views.delete'), title: t('views.delete') }, icon('trash'));
  let views = [];
  const draw = (selectedId = '') => {
    mount(select, h('option', { value: '' }, t('views.default')), views.map((v) => h('option', { value: v.id, selected: String(v.id) === String(selectedId) }, v.name)));
    remove.hidden = !select.value;
  };
  const load = (selectedId) => api('GET', `/views?entity=${entity.name}`).then((answer) => { views = answer.items; draw(selectedId); })
    .catch((error) => toast(errorText(error), 'error'));
  select.addEventListener('change', () => {
    remove.hidden = !select.value;
    apply(views.find((v) => String(v.id) === select.value) || null);
  });
  remove.addEventListener('click', async () => {
    const view = views.find((v) => String(v.id) === select.value);
    if (!view || !await confirmAction(t('views.delete'), t('views.delete_confirm', { name: view.name }), t('views.delete'))) return;
    try {
      await api('DELETE', `/views/${view.id}`);
      await load('');
      apply(null);
    } catch (error) {
      toast(errorText(error), 'error');
    }
  });
  const save = h('button', { class: 'btn', type: 'button', on: { click: () => {
    const form = createForm({
      fields: [{ name: 'name', label: t('views.name'), required: true, maxlength: 50 }],
      submitLabel: t('common.save'),
      async onSubmit(values) {
        const view = await api('POST', '/views', { entity: entity.name, name: values.name.trim(), ...current() });
        dialog.close();
        toast(t('views.saved', { name: view.name }));
        await load(view.id);
      },
    });
    const dialog = openDialog(t('views.save'), h('div', {}, h('p', { class: 'muted' }, t('views.save_hint')), form.el));
  } } }, t('views.save'));
  load('');
  return h('div', { class: 'view-picker' }, control.el, remove, save);
}

/** The bulk actions the caller may take on this entity's records. */
function offeredBulkActions(entity) {
  const actions = [];
  const tags = entity.fields.find((f) => f.type === 'tags');
  if (can(entity, 'edit') && entity.owned && canAssign(entity)) {
    actions.push({ label: t('bulk.assign'), icon: 'user', run: bulkAssign });
    if (entity.name === 'leads') actions.push({ label: t('leads.round_robin'), icon: 'users', run: assignRoundRobin });
  }
  if (can(entity, 'edit') && tags) actions.push({ label: t('bulk.tag'), icon: 'tag', run: bulkTag });
  if (can(entity, 'edit') && entity.pooled) actions.push({ label: t('pool.release'), icon: 'inbox', run: bulkRelease });
  if (can(entity, 'delete')) actions.push({ label: t('records.delete'), icon: 'trash', danger: true, run: bulkDelete });
  return actions;
}

async function runBulk(entity, body, done) {
  try {
    done(await api('POST', `/${entity.name}/bulk`, body));
  } catch (error) {
    toast(errorText(error), 'error');
  }
}

function bulkAssign(entity, ids, done) {
  const form = createForm({
    fields: [{ name: 'owner_id', label: labelOf(entity, 'owner_id'), type: 'select', required: true, options: [['', '—']] }],
    submitLabel: t('bulk.assign'),
    async onSubmit(values) {
      const answer = await api('POST', `/${entity.name}/bulk`, { ids, action: 'assign', owner_id: Number(values.owner_id) });
      dialog.close();
      done(answer);
    },
  });
  api('GET', '/directory?per_page=200').then((answer) => {
    mount(form.controls.owner_id.input, h('option', { value: '' }, '—'), answer.items.map((u) => h('option', { value: u.id }, u.department_name ? `${u.display_name} · ${u.department_name}` : u.display_name)));
  }).catch((error) => form.showBanner(errorText(error)));
  const dialog = openDialog(t('bulk.assign_title', { count: ids.length }), form.el);
}

function bulkTag(entity, ids, done) {
  const form = createForm({
    fields: [{ name: 'tag', label: t('bulk.tag_name'), required: true, maxlength: 30 }],
    submitLabel: t('bulk.tag'),
    async onSubmit(values) {
      const answer = await api('POST', `/${entity.name}/bulk`, { ids, action: 'tag', tag: values.tag.trim() });
      dialog.close();
      done(answer);
    },
  });
  const dialog = openDialog(t('bulk.tag_title', { count: ids.length }), form.el);
}

async function bulkRelease(entity, ids, done) {
  if (await confirmAction(t('pool.release'), t('bulk.release_confirm', { count: ids.length }), t('pool.release'))) {
    runBulk(entity, { ids, action: 'release' }, done);
  }
}

async function bulkDelete(entity, ids, done) {
  if (await confirmAction(t('records.delete'), t('bulk.delete_confirm', { count: ids.length }), t('records.delete'))) {
    runBulk(entity, { ids, action: 'delete' }, done);
  }
}

async function claim(entity, record, refresh) {
  try {
    await api('POST', `/pool/${entity.name}/${record.id}/claim`);
    toast(t('pool.claimed', { name: record[entity.title_field] }));
    navigate(recordPath(entity.name, record.id));
  } catch (error) {
    toast(errorText(error), 'error');
    refresh();
  }
}

/** The rules in force and how many customers the caller already holds. */
function poolSummary() {
  const box = h('p', { class: 'muted pool-summary' });
  api('GET', '/settings/pool').then((s) => {
    const parts = [s.max_customers_per_user ? t('pool.held_of', { held: s.held_by_me, max: s.max_customers_per_user }) : t('pool.held', { held: s.held_by_me })];
    if (s.days_without_followup) parts.push(t('pool.rule_followup', { days: s.days_without_followup }));
    if (s.days_without_won) parts.push(t('pool.rule_won', { days: s.days_without_won }));
    box.textContent = parts.join(' · ');
  }).catch(() => { box.hidden = true; });
  return box;
}
