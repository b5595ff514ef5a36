// #/settings/users: accounts, their department and roles; freeze leavers; reset passwords.
import { api } from '../../api.js';
import { h, icon } from '../../dom.js';
import { t } from '../../i18n.js';
import { formatDateTime, formatList } from '../../format.js';
import { badge, confirmAction, createForm, errorText, field, loadInto, openDialog, pager, table, toast } from '../../ui.js';
import { departmentOptions } from './departments.js';

const roleName = (role) => (role.builtin ? t(`role.${role.builtin}`) : role.name);

function userDialog(user, lookups, refresh) {
  const editing = Boolean(user);
  const fields = [
    { name: 'username', label: t('users.username'), value: user?.username || '', required: !editing, readonly: editing, maxlength: 64, autocomplete: 'off' },
    { name: 'display_name', label: t('users.display_name'), value: user?.display_name || '', maxlength: 100 },
    ...(editing ? [] : [{ name: 'password', label: t('users.password'), type: 'password', required: true, autocomplete: 'new-password', hint: t('setup.password_hint') }]),
    { name: 'department_id', label: t('users.department'), type: 'select', value: user?.department_id ?? '',
      options: departmentOptions(lookups.departments, { none: t('users.no_department') }) },
    { name: 'role_ids', label: t('users.roles'), type: 'checkboxes', value: user?.role_ids || [], options: lookups.roles.map((r) => [r.id, roleName(r)]) },
  ];
  const form = createForm({
    fields,
    submitLabel: t('common.save'),
    async onSubmit(values) {
      const body = {
        display_name: values.display_name.trim() || undefined,
        department_id: values.department_id ? Number(values.department_id) : null,
        role_ids: values.role_ids.map(Number),
      };
      if (editing) {
        await api('PATCH', `/users/${user.id}`, { ...body, version: user.version });
      } else {
        await api('POST', '/users', { ...body, username: values.username.trim(), password: values.password });
      }
      dialog.close();
      toast(t('common.saved'));
      refresh();
    },
  });
  const dialog = openDialog(editing ? t('users.edit') : t('users.new'), form.el);
}

function passwordDialog(user) {
  const form = createForm({
    fields: [{ name: 'password', label: t('users.new_password'), type: 'password', required: true, autocomplete: 'new-password', hint: t('users.reset_hint') }],
    submitLabel: t('users.reset_password'),
    async onSubmit(values) {
      await api('POST', `/users/${user.id}/password`, { password: values.password });
      dialog.close();
      toast(t('users.password_reset', { name: user.display_name }));
    },
  });
  const dialog = openDialog(`${t('users.reset_password')}: ${user.display_name}`, form.el);
}

/** Hands every record of a user (a leaver) to a colleague in one step. */
function transferDialog(user, refresh) {
  const form = createForm({
    fields: [{ name: 'to_user_id', label: t('users.transfer_to'), type: 'select', required: true, options: [['', '—']] }],
    submitLabel: t('users.transfer'),
    async onSubmit(values) {
      if (!values.to_user_id) return form.showErrors({ to_user_id: t('field_error.required') }, '');
      const answer = await api('POST', `/users/${user.id}/transfer`, { to_user_id: Number(values.to_user_id) });
      const count = Object.values(answer.transferred).reduce((a, b) => a + b, 0);
      dialog.close();
      toast(t('users.transferred', { count, name: user.display_name }));
      refresh();
    },
  });
  api('GET', '/directory?per_page=200').then((answer) => {
    const select = form.controls.to_user_id.input;
    for (const u of answer.items.filter((u) => u.id !== user.id)) {
      select.append(h('option', { value: u.id }, u.department_name ? `${u.display_name} · ${u.department_name}` : u.display_name));
    }
  }).catch((error) => form.showBanner(errorText(error)));
  const dialog = openDialog(`${t('users.transfer')}: ${user.display_name}`, h('div', {}, h('p', { class: 'muted' }, t('users.transfer_hint')), form.el));
}

async function toggleFrozen(user, refresh) {
  const freezing = !user.frozen;
  if (freezing) {
    const ok = await confirmAction(t('users.freeze'), t('users.freeze_confirm', { name: user.display_name }), t('users.freeze'));
    if (!ok) return;
  }
  try {
    await api('POST', `/users/${user.id}/${freezing ? 'freeze' : 'unfreeze'}`);
    toast(freezing ? t('users.frozen_done', { name: user.display_name }) : t('users.unfrozen_done', { name: user.display_name }));
    refresh();
  } catch (error) {
    toast(errorText(error), 'error');
  }
}

export function usersPage() {
  document.title = `${t('nav.users')} · ${t('app.name')}`;
  const lookups = { departments: [], roles: [] };
  const filters = { q: '', department_id: '', frozen: '', page: 1 };
  const results = h('div');
  const refresh = () => loadInto(results, async () => {
    const query = new URLSearchParams(Object.entries(filters).filter(([, v]) => v !== '' && v !== null));
    const [users, departments, roles] = await Promise.all([
      api('GET', `/users?${query}`), api('GET', '/departments'), api('GET', '/roles'),
    ]);
    lookups.departments = departments.items;
    lookups.roles = roles.items;
    return users;
  }, (answer) => h('div', { class: 'page' },
    table([
      { label: t('users.name'), cell: (u) => [h('strong', {}, u.display_name), h('span', { class: 'cell-sub' }, u.username)] },
      { label: t('users.department'), cell: (u) => u.department_name || '—' },
      { label: t('users.roles'), cell: (u) => formatList(u.roles.map(roleName)) || '—' },
      { label: t('users.status'), cell: (u) => (u.frozen ? badge(t('users.status_frozen'), 'danger') : badge(t('users.status_active'), 'ok')) },
      { label: t('users.last_seen'), cell: (u) => (u.last_seen_at ? formatDateTime(u.last_seen_at) : '—') },
      { label: t('common.actions'), className: 'actions', cell: (u) => [
        h('button', { class: 'btn', type: 'button', on: { click: () => userDialog(u, lookups, refresh) } }, t('common.edit')), ' ',
        h('button', { class: 'btn', type: 'button', on: { click: () => passwordDialog(u) } }, t('users.reset_password')), ' ',
        h('button', { class: 'btn', type: 'button', on: { click: () => toggleFrozen(u, refresh) } }, u.frozen ? t('users.unfreeze') : t('users.freeze')), ' ',
        h('button', { class: 'btn', type: 'button', on: { click: () => transferDialog(u, refresh) } }, t('users.transfer')),
      ] },
    ], answer.items, t('users.empty')),
    pager(answer, (page) => { filters.page = page; refresh(); })));

  const search = field({ name: 'q', label: t('common.search'), type: 'search' });
  let timer;
  search.input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => { filters.q = search.input.value.trim(); filters.page = 1; refresh(); }, 250);
  });
  const status = field({ name: 'frozen', label: t('users.status'), type: 'select', value: '',
    options: [['', t('common.all')], ['false', t('users.status_active')], ['true', t('users.status_frozen')]] });
  status.input.addEventListener('change', () => { filters.frozen = status.input.value; filters.page = 1; refresh(); });
  refresh();
  return h('div', { class: 'page' },
    h('header', { class: 'page-header with-actions' },
      h('div', {}, h('h1', {}, t('nav.users')), h('p', { class: 'muted' }, t('users.intro'))),
      h('button', { class: 'btn btn-primary', type: 'button', on: { click: () => userDialog(null, lookups, refresh) } }, icon('plus'), t('users.new'))),
    h('div', { class: 'toolbar' }, search.el, status.el),
    results);
}
