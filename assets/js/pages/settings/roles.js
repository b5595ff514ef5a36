// #/settings/roles: roles as a grid of modules × actions with a data scope per module, and
// per-field restrictions (hidden / read-only) for each module.
import { api } from '../../api.js';
import { h, icon } from '../../dom.js';
import { t } from '../../i18n.js';
import { badge, confirmAction, emptyState, errorText, loadInto, openDialog, table, toast } from '../../ui.js';
import { loadMeta, resetMeta } from '../../meta.js';

const ACTIONS = ['view', 'create', 'edit', 'delete', 'export', 'import'];
const SCOPES = ['own', 'department', 'department_tree', 'all'];
const ACCESS = ['full', 'read_only', 'hidden'];

const roleName = (role) => (role.builtin ? t(`role.${role.builtin}`) : role.name);

function moduleRow(entity, rights) {
  const granted = new Set(rights?.actions || []);
  const boxes = ACTIONS.map((action) => h('input', {
    type: 'checkbox', value: action, checked: granted.has(action),
    'aria-label': `${entity.label}: ${t(`roles.action.${action}`)}`,
  }));
  const scope = h('select', { class: 'input', 'aria-label': `${entity.label}: ${t('roles.scope')}`, disabled: Boolean(entity.parent) },
    SCOPES.map((s) => h('option', { value: s, selected: (rights?.scope || 'own') === s }, t(`roles.scope.${s}`))));
  const fieldSelects = entity.fields.map((f) => [f.name, h('select', { class: 'input', 'aria-label': `${entity.label}: ${f.label}` },
    ACCESS.map((a) => h('option', { value: a, selected: (rights?.fields?.[f.name] || 'full') === a }, t(`roles.access.${a}`))))]);
  const fieldsPanel = h('details', { class: 'field-rules' },
    h('summary', {}, t('roles.fields')),
    h('div', { class: 'field-rule-grid' }, entity.fields.map((f, i) => h('label', { class: 'field-rule' }, h('span', {}, f.label), fieldSelects[i][1]))));
  const row = h('tr', {},
    h('th', { scope: 'row' }, entity.label, entity.parent ? h('div', { class: 'cell-sub' }, t('roles.follows_parent')) : null),
    boxes.map((box, i) => h('td', { 'data-label': t(`roles.action.${ACTIONS[i]}`), class: 'center' }, box)),
    h('td', { 'data-label': t('roles.scope') }, scope));
  const value = () => {
    const actions = boxes.filter((b) => b.checked).map((b) => b.value);
    const fields = Object.fromEntries(fieldSelects.map(([name, select]) => [name, select.value]).filter(([, v]) => v !== 'full'));
    if (!actions.length && !Object.keys(fields).length) return null;
    return { actions, scope: scope.value, fields };
  };
  return { rows: [row, h('tr', { class: 'rule-row' }, h('td', { colspan: ACTIONS.length + 2 }, fieldsPanel))], value };
}

async function roleDialog(role, refresh) {
  const meta = await loadMeta();
  const entities = [...meta.values()];
  const name = h('input', { class: 'input', id: 'role-name', value: role?.name || '', maxlength: 60, required: true });
  const modules = entities.map((e) => [e.name, moduleRow(e, role?.permissions?.[e.name])]);
  const banner = h('div', { class: 'banner banner-error', role: 'alert', hidden: true });
  const nameError = h('div', { class: 'field-error', hidden: true });
  const save = h('button', { class: 'btn btn-primary', type: 'submit' }, t('common.save'));
  const form = h('form', { class: 'form', novalidate: true, on: { submit: async (event) => {
    event.preventDefault();
    banner.hidden = true;
    nameError.hidden = true;
    const permissions = Object.fromEntries(modules.map(([m, row]) => [m, row.value()]).filter(([, v]) => v));
    const body = { name: name.value.trim(), permissions };
    save.disabled = true;
    try {
      if (role) await api('PATCH', `/roles/${role.id}`, { ...body, version: role.version });
      else await api('POST', '/roles', body);
      resetMeta();
      dialog.close();
      toast(t('common.saved'));
      refresh();
    } catch (error) {
      if (error.fields?.name) {
        nameError.hidden = false;
        nameError.textContent = error.fields.name;
      }
      banner.hidden = false;
      banner.textContent = errorText(error);
    } finally {
      save.disabled = false;
    }
  } } },
  banner,
  h('div', { class: 'field' }, h('label', { for: 'role-name' }, t('roles.name'), h('span', { class: 'required', 'aria-hidden': 'true' }, ' *')), name, nameError),
  h('p', { class: 'hint' }, t('roles.hint')),
  h('div', { class: 'table-wrap' }, h('table', { class: 'table permission-grid' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('roles.module')), ACTIONS.map((a) => h('th', { scope: 'col', class: 'center' }, t(`roles.action.${a}`))), h('th', { scope: 'col' }, t('roles.scope')))),
    h('tbody', {}, modules.map(([, row]) => row.rows)))),
  h('div', { class: 'form-actions' }, save));
  const dialog = openDialog(role ? t('roles.edit') : t('roles.new'), form);
  dialog.classList.add('dialog-wide');
}

async function removeRole(role, refresh) {
  if (!(await confirmAction(t('roles.delete'), t('roles.delete_confirm', { name: role.name }), t('roles.delete')))) return;
  try {
    await api('DELETE', `/roles/${role.id}`);
    toast(t('roles.deleted'));
    refresh();
  } catch (error) {
    toast(errorText(error), 'error');
  }
}

function summary(role) {
  if (role.builtin) return t('roles.everything');
  const entries = Object.entries(role.permissions || {});
  if (!entries.length) return t('roles.nothing');
  return entries.map(([module, rights]) => `${t(`entity.${module}`)}: ${t(`roles.scope.${rights.scope}`)} (${rights.actions.map((a) => t(`roles.action.${a}`)).join('/') || '—'})`).join('; ');
}

export function rolesPage() {
  document.title = `${t('nav.roles')} · ${t('app.name')}`;
  const results = h('div');
  const refresh = () => loadInto(results, () => api('GET', '/roles'), (answer) => (answer.items.length
    ? table([
      { label: t('roles.name'), cell: (r) => [h('strong', {}, roleName(r)), r.builtin ? [' ', badge(t('roles.builtin'), 'info')] : null] },
      { label: t('roles.permissions'), cell: (r) => h('span', { class: 'muted' }, summary(r)) },
      { label: t('roles.users'), cell: (r) => String(r.user_count) },
      { label: t('common.actions'), className: 'actions', cell: (r) => (r.builtin ? '—' : [
        h('button', { class: 'btn', type: 'button', on: { click: () => roleDialog(r, refresh).catch((e) => toast(errorText(e), 'error')) } }, t('common.edit')), ' ',
        h('button', { class: 'btn', type: 'button', on: { click: () => removeRole(r, refresh) } }, t('roles.delete')),
      ]) },
    ], answer.items, '')
    : emptyState('users', t('roles.empty'))));
  refresh();
  return h('div', { class: 'page' },
    h('header', { class: 'page-header with-actions' },
      h('div', {}, h('h1', {}, t('nav.roles')), h('p', { class: 'muted' }, t('roles.intro'))),
      h('button', { class: 'btn btn-primary', type: 'button', on: { click: () => roleDialog(null, refresh).catch((e) => toast(errorText(e), 'error')) } }, icon('plus'), t('roles.new'))),
    results);
}

