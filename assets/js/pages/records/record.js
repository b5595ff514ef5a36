// #/E/{id}: one record. For a customer this is the 360° view: key facts and quick actions on top,
// then everything linked to it: contacts, the follow-up timeline, and the change history. The
// related sections come from metadata (entities whose parent is this one), so later modules
// appear here by declaring their parent.
import { api } from '../../api.js';
import { h, icon, mount } from '../../dom.js';
import { t } from '../../i18n.js';
import { navigate } from '../../router.js';
import { formatDateTime } from '../../format.js';
import { badge, confirmAction, createForm, emptyState, errorState, errorText, loading, openDialog, table, toast } from '../../ui.js';
import { can, display, labelOf, loadMeta, optionLabel, describe, recordPath } from '../../meta.js';
import { canAssign, openRecordForm } from './form.js';
import { recordActions, recordSections } from './sales.js';
import { commentsSection } from './comments.js';
import { approvalSection, isLocked, loadApproval } from './approval.js';

export function recordPage(entityName) {
  return (params) => {
    const root = h('div', { class: 'page' }, loading());
    const draw = async () => {
      mount(root, loading());
      try {
        const meta = await loadMeta();
        const entity = meta.get(entityName);
        if (!entity) throw Object.assign(new Error(t('error.not_found')), { code: 'not_found' });
        const [record, approval] = await Promise.all([api('GET', `/${entityName}/${params.id}`), loadApproval(entity, params.id)]);
        mount(root, recordView(meta, entity, record, draw, approval));
      } catch (error) {
        mount(root, error.status === 404 || error.code === 'not_found'
          ? emptyState('alert', t('error.not_found'))
          : errorState(error, draw));
      }
    };
    draw();
    return root;
  };
}

/**
 * Entities that hang off `entity` or point at it: [their meta, the query that lists a record's
 * ones, the values a new one gets]. Children (contacts of a customer), records linked by entity
 * and id (follow-ups, tasks), records with a reference to it (a customer's opportunities) and
 * children of those (the payments and invoices of a customer's contracts).
 */
function children(meta, entity, id) {
  const found = [];
  const pointing = (other) => other.fields.find((f) => f.type === 'reference' && f.reference === entity.name && !f.system);
  for (const child of meta.values()) {
    const { parent, link } = child;
    const through = parent && parent.entity !== entity.name && meta.get(parent.entity);
    const grandparentField = through && pointing(through);
    const reference = child.name !== entity.name && pointing(child);
    if (parent?.entity === entity.name) {
      found.push([child, `filter[${parent.field}]=${id}`, { [parent.field]: id }]);
    } else if (link?.entities?.includes(entity.name)) {
      found.push([child, `filter[${link.entity_field}]=${entity.name}&filter[${link.field}]=${id}`,
        { [link.entity_field]: entity.name, [link.field]: id }]);
    } else if (reference) {
      found.push([child, `filter[${reference.name}]=${id}`, { [reference.name]: id }]);
    } else if (grandparentField) {
      // Listed only: a new one is made from its own parent (the contract), not from here.
      found.push([child, `filter[${parent.field}.${grandparentField.name}]=${id}`, null]);
    }
  }
  return found;
}

function changeOwner(entity, record, refresh) {
  const form = createForm({
    fields: [{ name: 'owner_id', label: labelOf(entity, 'owner_id'), type: 'select', value: record.owner_id ?? '', options: [] }],
    submitLabel: t('common.save'),
    async onSubmit(values) {
      await api('PATCH', `/${entity.name}/${record.id}`, { owner_id: Number(values.owner_id), version: record.version });
      dialog.close();
      toast(t('common.saved'));
      refresh();
    },
  });
  const select = form.controls.owner_id.input;
  api('GET', '/directory?per_page=200').then((answer) => {
    mount(select, answer.items.map((u) => h('option', { value: u.id, selected: u.id === record.owner_id }, u.department_name ? `${u.display_name} · ${u.department_name}` : u.display_name)));
  }).catch((error) => form.showBanner(errorText(error)));
  const dialog = openDialog(t('records.change_owner'), form.el);
}

function release(entity, record) {
  const form = createForm({
    fields: [{ name: 'reason', label: t('pool.reason'), type: 'textarea', maxlength: 500, rows: 3 }],
    submitLabel: t('pool.release'),
    async onSubmit(values) {
      await api('POST', `/${entity.name}/${record.id}/release`, { reason: values.reason.trim() || null });
      dialog.close();
      toast(t('pool.released', { name: record[entity.title_field] }));
      navigate(`/${entity.name}`);
    },
  });
  const dialog = openDialog(t('pool.release'), h('div', {}, h('p', { class: 'muted' }, t('pool.release_hint')), form.el));
}

async function remove(entity, record) {
  const ok = await confirmAction(t('records.delete'), t('records.delete_confirm', { name: record[entity.title_field] ?? `#${record.id}` }), t('records.delete'));
  if (!ok) return;
  try {
    await api('DELETE', `/${entity.name}/${record.id}`);
    toast(t('records.deleted'));
    navigate(entity.parent ? '/' : `/${entity.name}`);
  } catch (error) {
    toast(errorText(error), 'error');
  }
}

function headerBlock(entity, record, refresh, quick, locked) {
  const title = record[entity.title_field] ?? `#${record.id}`;
  const badges = entity.fields.filter((f) => f.type === 'picklist' && entity.list_columns.includes(f.name) && record[f.name])
    .map((f) => badge(`${f.label}: ${optionLabel(f, record[f.name])}`, 'info'));
  if (locked) badges.push(badge(t('approvals.locked'), 'danger'));
  const facts = entity.list_columns.filter((name) => name !== entity.title_field && !describe(entity, name).options)
    .map((name) => h('div', { class: 'fact' }, h('dt', {}, labelOf(entity, name)), h('dd', {}, display(entity, name, record))));
  return h('header', { class: 'record-header card' },
    h('div', { class: 'record-title' },
      h('div', {}, h('p', { class: 'eyebrow' }, entity.label), h('h1', {}, String(title)), h('div', { class: 'badges' }, badges)),
      h('div', { class: 'header-actions' },
        quick,
        can(entity, 'edit') && !locked ? h('button', { class: 'btn', type: 'button', on: { click: () => openRecordForm(entity, record, { onSaved: refresh }) } }, icon('edit'), t('common.edit')) : null,
        entity.owned && canAssign(entity) ? h('button', { class: 'btn', type: 'button', on: { click: () => changeOwner(entity, record, refresh) } }, icon('user'), t('records.change_owner')) : null,
        entity.pooled && can(entity, 'edit') && record.owner_id ? h('button', { class: 'btn', type: 'button', on: { click: () => release(entity, record) } }, icon('pool'), t('pool.release')) : null,
        can(entity, 'delete') && !locked ? h('button', { class: 'btn btn-danger-outline', type: 'button', on: { click: () => remove(entity, record) } }, icon('trash'), t('records.delete')) : null)),
    h('dl', { class: 'facts facts-inline' }, facts));
}

function details(entity, record) {
  const names = [...entity.fields.map((f) => f.name).filter((n) => n !== entity.title_field), ...(entity.owned ? ['owner_id', 'department_id'] : []), 'created_at', 'updated_at'];
  return h('dl', { class: 'facts facts-grid' }, names.map((name) => h('div', { class: 'fact' }, h('dt', {}, labelOf(entity, name)), h('dd', {}, display(entity, name, record)))));
}

/** A related list (contacts of a customer) or, for follow-ups, a timeline. */
function relatedSection(child, filter, preset, refreshAll) {
  const body = h('div', {}, loading());
  const load = async () => {
    mount(body, loading());
    try {
      const sort = child.name === 'followups' ? '-followed_at' : child.default_sort;
      const answer = await api('GET', `/${child.name}?${filter}&sort=${sort}&per_page=50`);
      if (!answer.items.length) {
        mount(body, emptyState('inbox', t('records.related_empty', { entity: child.label })));
      } else if (child.name === 'followups') {
        mount(body, timeline(child, answer.items));
      } else {
        const columns = child.list_columns.filter((n) => !(n in (preset ?? {}))).slice(0, 5).map((name, index) => ({
          label: labelOf(child, name),
          cell: (r) => (index === 0 ? h('a', { href: `#${recordPath(child.name, r.id)}` }, display(child, name, r)) : display(child, name, r)),
        }));
        mount(body, table(columns, answer.items, ''));
      }
    } catch (error) {
      mount(body, errorState(error, load));
    }
  };
  load();
  const add = preset && can(child, 'create')
    ? h('button', { class: 'btn', type: 'button', on: { click: () => openRecordForm(child, null, { preset, onSaved: () => { load(); refreshAll?.(); } }) } }, icon('plus'), t('records.add', { entity: child.label_one }))
    : null;
  return { el: h('section', { class: 'card related', id: `related-${child.name}` }, h('div', { class: 'card-head' }, h('h2', { class: 'card-title' }, child.label), add), body), add };
}

function timeline(child, items) {
  return h('ol', { class: 'timeline' }, items.map((f) => h('li', { class: 'timeline-item' },
    h('div', { class: 'timeline-dot', 'aria-hidden': 'true' }),
    h('div', { class: 'timeline-body' },
      h('div', { class: 'timeline-meta' },
        h('strong', {}, display(child, 'method', f)), ' · ', h('time', { datetime: f.followed_at }, formatDateTime(f.followed_at)),
        f.display?.created_by ? ` · ${f.display.created_by}` : ''),
      h('p', { class: 'timeline-text' }, f.content),
      f.next_at ? h('p', { class: 'muted' }, t('records.next_followup', { when: formatDateTime(f.next_at) })) : null,
      h('a', { class: 'timeline-link', href: `#${recordPath(child.name, f.id)}` }, t('records.open'))))));
}

function historySection(entity, record) {
  const body = h('div', {}, loading());
  api('GET', `/${entity.name}/${record.id}/history?per_page=50`).then((answer) => {
    const value = (name, v) => (v === null || v === undefined ? '—' : display(entity, name, { [name]: v, display: {} }));
    mount(body, answer.items.length ? h('ol', { class: 'history' }, answer.items.map((entry) => h('li', {},
      h('div', { class: 'timeline-meta' }, h('strong', {}, t(`records.action.${entry.action}`)), ' · ', formatDateTime(entry.at), entry.username ? ` · ${entry.username}` : ''),
      entry.changes.length && entry.action !== 'created' ? h('ul', { class: 'changes' }, entry.changes.map((c) => h('li', {},
        h('span', { class: 'change-field' }, labelOf(entity, c.field)), ': ', value(c.field, c.old), ' → ', value(c.field, c.new)))) : null)))
      : emptyState('log', t('records.history_empty')));
  }).catch((error) => mount(body, errorState(error)));
  return h('section', { class: 'card' }, h('h2', { class: 'card-title' }, t('records.history')), body);
}

function recordView(meta, entity, record, refresh, approval) {
  document.title = `${record[entity.title_field] ?? record.id} · ${entity.label} · ${t('app.name')}`;
  const related = children(meta, entity, record.id).map(([child, filter, preset]) => relatedSection(child, filter, preset, refresh));
  const adders = related.filter((r) => r.add).slice(0, 3);
  const quick = adders.map((r) => r.add.cloneNode(true));
  quick.forEach((button, i) => button.addEventListener('click', () => adders[i].add.click()));
  return h('div', { class: 'page record-page' },
    h('nav', { class: 'crumbs' }, entity.parent ? null : h('a', { href: `#/${entity.name}` }, entity.label)),
    headerBlock(entity, record, refresh, [...recordActions(entity, record, refresh), ...quick], isLocked(approval)),
    h('div', { class: 'record-columns' },
      h('div', { class: 'record-main' }, approvalSection(entity, record, approval, refresh), recordSections(entity, record, refresh), related.map((r) => r.el), commentsSection(entity, record)),
      h('div', { class: 'record-side' }, h('section', { class: 'card' }, h('h2', { class: 'card-title' }, t('records.details')), details(entity, record)), historySection(entity, record))));
}

/** #/E/new: the list with the new-record form open over it (the form is a dialog). */
export function newRecordPage(entityName) {
  return () => {
    const root = h('div', { class: 'page' }, loading());
    loadMeta().then((meta) => {
      const entity = meta.get(entityName);
      if (!entity || !can(entity, 'create')) {
        mount(root, emptyState('alert', t('error.not_found')));
        return;
      }
      mount(root, h('header', { class: 'page-header' }, h('h1', {}, t('records.new', { entity: entity.label_one }))));
      const dialog = openRecordForm(entity, null, { onSaved: (r) => navigate(recordPath(entity.name, r.id)) });
      dialog.then((d) => d.addEventListener('close', () => { if (location.hash.endsWith('/new')) navigate(`/${entity.name}`, { replace: true }); }));
    }).catch((error) => mount(root, errorState(error)));
    return root;
  };
}
