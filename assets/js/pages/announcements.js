// #/announcements: announcements received and sent; #/announcements/{id}: one of them, marked
// read on opening; its sender sees who has read it and who has not.
import { api } from '../api.js';
import { h, icon, mount } from '../dom.js';
import { t } from '../i18n.js';
import { formatDateTime, formatNumber } from '../format.js';
import { navigate } from '../router.js';
import { session } from '../session.js';
import { createForm, emptyState, errorState, loading, openDialog, pager, toast } from '../ui.js';

/** Administrators and managers (a scope wider than "own" somewhere) send announcements. */
function mayAnnounce() {
  const user = session.user;
  return user.is_admin || Object.values(user.permissions || {}).some((m) => m.scope && m.scope !== 'own');
}

async function compose() {
  const [people, departments, roles] = await Promise.all([
    api('GET', '/directory?per_page=200'),
    api('GET', '/departments'),
    session.user.is_admin ? api('GET', '/roles') : Promise.resolve({ items: [] }),
  ]);
  const form = createForm({
    fields: [
      { name: 'title', label: t('announcements.subject'), required: true, maxlength: 200 },
      { name: 'body', label: t('announcements.body'), type: 'textarea', required: true, maxlength: 10000, rows: 5 },
      { name: 'everyone', label: t('announcements.everyone'), type: 'checkbox', hint: t('announcements.audience_hint') },
      { name: 'department_ids', label: t('announcements.departments'), type: 'checkboxes', options: departments.items.map((d) => [d.id, d.name]) },
      ...(roles.items.length ? [{ name: 'role_ids', label: t('announcements.roles'), type: 'checkboxes', options: roles.items.map((r) => [r.id, r.builtin ? t(`role.${r.builtin}`) : r.name]) }] : []),
      { name: 'user_ids', label: t('announcements.users'), type: 'checkboxes', options: people.items.filter((p) => p.id !== session.user.id).map((p) => [p.id, p.display_name]) },
    ],
    submitLabel: t('announcements.send'),
    async onSubmit(values) {
      const ids = (list) => (list || []).map(Number);
      const sent = await api('POST', '/announcements', {
        title: values.title, body: values.body, everyone: values.everyone,
        department_ids: ids(values.department_ids), role_ids: ids(values.role_ids), user_ids: ids(values.user_ids),
      });
      dialog.close();
      toast(t('announcements.sent_to', { count: formatNumber(sent.recipients) }));
      navigate(`/announcements/${sent.id}`);
    },
  });
  const dialog = openDialog(t('announcements.new'), form.el);
}

export function announcementsPage(params, query) {
  document.title = `${t('announcements.title')} · ${t('app.name')}`;
  let box = query.get('box') === 'sent' ? 'sent' : 'received';
  let page = 1;
  const body = h('div', {}, loading());
  const tabs = h('div', { class: 'tabs', role: 'group', 'aria-label': t('announcements.title') });
  const drawTabs = () => mount(tabs, ['received', 'sent'].map((name) => h('button', {
    class: `chip ${box === name ? 'active' : ''}`, type: 'button', 'aria-pressed': String(box === name),
    on: { click: () => { box = name; page = 1; drawTabs(); load(); } },
  }, t(`announcements.${name}`))));
  const load = async () => {
    try {
      const answer = await api('GET', `/announcements?box=${box}&page=${page}`);
      const line = (a) => (box === 'sent'
        ? `${formatDateTime(a.created_at)} · ${t('announcements.read_by', { read: formatNumber(a.read_count), total: formatNumber(a.recipients) })}`
        : t('announcements.by', { author: a.author || '—', when: formatDateTime(a.created_at) }));
      const item = (a) => h('li', { class: `notice ${a.read || box === 'sent' ? '' : 'notice-unread'}` },
        h('a', { class: 'notice-open', href: `#/announcements/${a.id}` },
          h('span', { class: 'notice-dot', 'aria-hidden': 'true' }),
          h('span', { class: 'notice-text' },
            h('span', { class: 'notice-message' }, a.title),
            h('span', { class: 'muted' }, a.body),
            h('span', { class: 'muted' }, line(a)))));
      mount(body, answer.items.length
        ? h('div', {}, h('ul', { class: 'notices notices-page' }, answer.items.map(item)), pager(answer, (to) => { page = to; load(); }))
        : emptyState('bell', t('announcements.empty')));
    } catch (error) {
      mount(body, errorState(error, load));
    }
  };
  drawTabs();
  load();
  return h('div', { class: 'page page-narrow' },
    h('header', { class: 'page-header with-actions' }, h('h1', {}, t('announcements.title')),
      h('div', { class: 'header-actions' }, mayAnnounce()
        ? h('button', { class: 'btn btn-primary', type: 'button', on: { click: () => compose().catch((error) => toast(error.message, 'error')) } }, icon('plus'), t('announcements.new'))
        : null)),
    tabs,
    h('section', { class: 'card' }, body));
}

function receiptsBlock(id, announcement) {
  const block = h('div', {}, loading());
  api('GET', `/announcements/${id}/receipts`).then((answer) => {
    const share = announcement.recipients ? Math.round((100 * announcement.read_count) / announcement.recipients) : 0;
    // Set through the style object: the page's policy refuses style attributes.
    const bar = h('div', { class: 'progress-bar determinate' });
    bar.style.width = `${share}%`;
    const people = (list) => h('ul', { class: 'receipts' }, list.map((p) => h('li', {}, h('strong', {}, p.display_name),
      p.department_name ? h('span', { class: 'muted' }, ` · ${p.department_name}`) : null,
      p.read_at ? h('span', { class: 'muted' }, ` · ${formatDateTime(p.read_at)}`) : null)));
    mount(block,
      h('p', {}, t('announcements.read_by', { read: formatNumber(announcement.read_count), total: formatNumber(announcement.recipients) })),
      h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': share }, bar),
      h('div', { class: 'grid' },
        h('div', {}, h('h3', {}, t('announcements.read_list', { count: answer.read.length })), people(answer.read)),
        h('div', {}, h('h3', {}, t('announcements.unread_list', { count: answer.unread.length })), people(answer.unread))));
  }).catch((error) => mount(block, errorState(error)));
  return block;
}

export function announcementPage(params) {
  const root = h('div', { class: 'page page-narrow' }, loading());
  const draw = async () => {
    try {
      const announcement = await api('GET', `/announcements/${params.id}`);
      if (announcement.received && !announcement.read) await api('POST', `/announcements/${params.id}/read`);
      document.title = `${announcement.title} · ${t('app.name')}`;
      mount(root,
        h('nav', { class: 'crumbs' }, h('a', { href: '#/announcements' }, t('announcements.title'))),
        h('article', { class: 'card' },
          h('h1', {}, announcement.title),
          h('p', { class: 'muted' }, t('announcements.by', { author: announcement.author || '—', when: formatDateTime(announcement.created_at) })),
          h('p', { class: 'comment-body' }, announcement.body)),
        announcement.recipients !== undefined ? h('section', { class: 'card' }, h('h2', { class: 'card-title' }, t('announcements.read_list', { count: announcement.read_count })), receiptsBlock(params.id, announcement)) : null);
    } catch (error) {
      mount(root, error.status === 404 ? emptyState('alert', t('error.not_found')) : errorState(error, draw));
    }
  };
  draw();
  return root;
}
