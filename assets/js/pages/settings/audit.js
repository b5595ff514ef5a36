// #/settings/audit: the operation log (操作日志), filterable by action and day.
import { api } from '../../api.js';
import { h } from '../../dom.js';
import { has, t } from '../../i18n.js';
import { formatDateTime } from '../../format.js';
import { field, loadInto, pager, table } from '../../ui.js';

export const AUDIT_ACTIONS = [
  'login', 'login_failed', 'login_refused_frozen', 'logout', 'setup', 'password_changed', 'password_reset',
  'user_created', 'user_updated', 'user_frozen', 'user_unfrozen', 'department_created', 'department_updated',
  'department_deleted', 'token_created', 'token_revoked', 'backup', 'backup_downloaded',
  'role_created', 'role_updated', 'role_deleted', 'records_transferred', 'record_deleted', 'record_restored', 'export',
];

const AUDIT_ENTITIES = ['users', 'roles', 'departments', 'tokens', 'customers', 'contacts', 'followups'];
const RECORD_ENTITIES = new Set(['customers', 'contacts', 'followups']);

const entityLabel = (entity) => (has(`entity.${entity}`) ? t(`entity.${entity}`) : t(`audit.entity.${entity}`));

function target(entry) {
  if (!entry.entity) return '—';
  const label = entry.record_id ? `${entityLabel(entry.entity)} #${entry.record_id}` : entityLabel(entry.entity);
  return RECORD_ENTITIES.has(entry.entity) && entry.record_id
    ? h('a', { href: `#/${entry.entity}/${entry.record_id}` }, label)
    : label;
}

const actionLabel = (action) => (has(`audit.action.${action}`) ? t(`audit.action.${action}`) : action);

export function auditPage() {
  document.title = `${t('nav.audit')} · ${t('app.name')}`;
  const filters = { action: '', user_id: '', entity: '', from: '', to: '', page: 1 };
  const results = h('div');
  const refresh = () => loadInto(results, () => {
    const query = new URLSearchParams(Object.entries(filters).filter(([, v]) => v !== ''));
    return api('GET', `/audit-log?${query}`);
  }, (answer) => h('div', { class: 'page' },
    table([
      { label: t('audit.at'), cell: (e) => formatDateTime(e.at) },
      { label: t('audit.user'), cell: (e) => e.username || '—' },
      { label: t('audit.action'), cell: (e) => actionLabel(e.action) },
      { label: t('audit.target'), cell: target },
      { label: t('audit.ip'), cell: (e) => e.ip || '—' },
    ], answer.items, t('audit.empty')),
    pager(answer, (page) => { filters.page = page; refresh(); })));

  const action = field({ name: 'action', label: t('audit.action'), type: 'select', value: '',
    options: [['', t('common.all')], ...AUDIT_ACTIONS.map((a) => [a, actionLabel(a)])] });
  const user = field({ name: 'user_id', label: t('audit.user'), type: 'select', value: '', options: [['', t('common.all')]] });
  api('GET', '/users?per_page=200').then((answer) => {
    for (const u of answer.items) user.input.append(h('option', { value: u.id }, `${u.display_name} (${u.username})`));
  }).catch(() => {});
  const entity = field({ name: 'entity', label: t('audit.target'), type: 'select', value: '',
    options: [['', t('common.all')], ...AUDIT_ENTITIES.map((e) => [e, entityLabel(e)])] });
  const from = field({ name: 'from', label: t('audit.from'), type: 'date' });
  const to = field({ name: 'to', label: t('audit.to'), type: 'date' });
  for (const [name, control] of Object.entries({ action, user_id: user, entity, from, to })) {
    control.input.addEventListener('change', () => { filters[name] = control.input.value; filters.page = 1; refresh(); });
  }
  refresh();
  return h('div', { class: 'page' },
    h('header', { class: 'page-header' }, h('h1', {}, t('nav.audit')), h('p', { class: 'muted' }, t('audit.intro'))),
    h('div', { class: 'toolbar' }, action.el, user.el, entity.el, from.el, to.el),
    results);
}
