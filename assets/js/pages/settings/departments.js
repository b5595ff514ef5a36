// #/settings/departments: the department tree (group → division → team), edited in place.
import { api } from '../../api.js';
import { h, icon } from '../../dom.js';
import { t } from '../../i18n.js';
import { confirmAction, createForm, emptyState, errorText, loadInto, openDialog, toast } from '../../ui.js';

/** Departments as [{...department, depth}] in tree order, children sorted by name. */
export function flattenTree(departments) {
  const children = new Map();
  for (const d of departments) {
    const key = d.parent_id ?? 0;
    if (!children.has(key)) children.set(key, []);
    children.get(key).push(d);
  }
  const out = [];
  const walk = (parent, depth) => {
    for (const d of (children.get(parent) || []).sort((a, b) => a.name.localeCompare(b.name))) {
      out.push({ ...d, depth });
      walk(d.id, depth + 1);
    }
  };
  walk(0, 0);
  return out;
}

/** Options for a department picker, indented by depth; `exclude` drops a subtree (for moves). */
export function departmentOptions(departments, { none, exclude } = {}) {
  const rows = flattenTree(departments).filter((d) => !exclude || !d.path.startsWith(exclude.path));
  return [['', none], ...rows.map((d) => [d.id, `${'\u3000'.repeat(d.depth)}${d.name}`])];
}

function editDialog(department, parent, departments, refresh) {
  const editing = Boolean(department);
  const form = createForm({
    fields: [
      { name: 'name', label: t('departments.name'), value: department?.name || '', required: true, maxlength: 60 },
      { name: 'parent_id', label: t('departments.parent'), type: 'select', value: department ? department.parent_id ?? '' : parent?.id ?? '',
        options: departmentOptions(departments, { none: t('departments.top_level'), exclude: department }) },
      { name: 'head_id', label: t('departments.head'), type: 'select', value: department?.head_id ?? '', options: [['', t('departments.no_head')]], hint: t('departments.head_hint') },
    ],
    submitLabel: t('common.save'),
    validate: (values) => (values.name.trim() ? {} : { name: t('field_error.required') }),
    async onSubmit(values) {
      const body = { name: values.name.trim(), parent_id: values.parent_id ? Number(values.parent_id) : null, head_id: values.head_id ? Number(values.head_id) : null };
      if (editing) await api('PATCH', `/departments/${department.id}`, { ...body, version: department.version });
      else await api('POST', '/departments', body);
      dialog.close();
      toast(t('common.saved'));
      refresh();
    },
  });
  const head = form.controls.head_id.input;
  api('GET', '/directory?per_page=200').then((answer) => {
    head.append(...answer.items.map((u) => h('option', { value: u.id, selected: u.id === department?.head_id }, u.department_name ? `${u.display_name} · ${u.department_name}` : u.display_name)));
  }).catch((error) => form.showBanner(errorText(error)));
  const dialog = openDialog(editing ? t('departments.edit') : t('departments.new'), form.el);
  form.controls.name.input.focus();
}

async function remove(department, refresh) {
  const ok = await confirmAction(t('departments.delete'), t('departments.delete_confirm', { name: department.name }), t('common.delete'));
  if (!ok) return;
  try {
    await api('DELETE', `/departments/${department.id}`);
    toast(t('common.deleted'));
    refresh();
  } catch (error) {
    toast(errorText(error), 'error');
  }
}

function tree(departments, refresh) {
  const byParent = new Map();
  for (const d of departments) {
    const key = d.parent_id ?? 0;
    if (!byParent.has(key)) byParent.set(key, []);
    byParent.get(key).push(d);
  }
  const branch = (parent) => {
    const items = (byParent.get(parent) || []).sort((a, b) => a.name.localeCompare(b.name));
    if (!items.length) return null;
    return h('ul', { role: parent ? 'group' : 'tree' }, items.map((d) => h('li', { role: 'treeitem' },
      h('div', { class: 'tree-node' },
        h('span', { class: 'tree-name' }, icon('tree'), h('strong', {}, d.name), h('span', { class: 'muted' }, t('departments.user_count', { count: d.user_count })),
          d.head_name ? h('span', { class: 'muted' }, t('departments.head_is', { name: d.head_name })) : null),
        h('span', { class: 'tree-actions' },
          h('button', { class: 'btn', type: 'button', on: { click: () => editDialog(null, d, departments, refresh) } }, icon('plus'), t('departments.add_child')),
          h('button', { class: 'btn', type: 'button', on: { click: () => editDialog(d, null, departments, refresh) } }, t('common.edit')),
          h('button', { class: 'btn', type: 'button', on: { click: () => remove(d, refresh) } }, t('common.delete')))),
      branch(d.id))));
  };
  return h('div', { class: 'card tree' }, branch(0));
}

export function departmentsPage() {
  document.title = `${t('nav.departments')} · ${t('app.name')}`;
  const body = h('div');
  let departments = [];
  const refresh = () => loadInto(body, () => api('GET', '/departments'), (answer) => {
    departments = answer.items;
    return departments.length ? tree(departments, refresh) : emptyState('tree', t('departments.empty'));
  });
  refresh();
  return h('div', { class: 'page' },
    h('header', { class: 'page-header with-actions' },
      h('div', {}, h('h1', {}, t('nav.departments')), h('p', { class: 'muted' }, t('departments.intro'))),
      h('button', { class: 'btn btn-primary', type: 'button', on: { click: () => editDialog(null, null, departments, refresh) } }, icon('plus'), t('departments.new'))),
    body);
}

