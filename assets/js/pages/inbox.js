// 待办: what waits on me, from every module, in my own time zone and scope. The home page shows
// the first few of each kind; #/inbox shows them all. Each item opens its record.
import { api } from '../api.js';
import { h, mount } from '../dom.js';
import { t } from '../i18n.js';
import { formatDate, formatDateTime, formatMoney } from '../format.js';
import { liveCount } from '../counts.js';
import { session } from '../session.js';
import { badge, emptyState, errorState, loading } from '../ui.js';

/** How much is due now, for the menu. */
export const inboxCount = liveCount(() => api('GET', '/reminders').then((a) => a.counts.now), ['approval_', 'mention']);

const money = (amount) => formatMoney(amount, session.user.company?.currency || 'CNY');
const WHEN_KIND = { overdue: 'danger', today: 'info', upcoming: 'neutral' };

function line(href, title, detail, tag) {
  return h('li', { class: 'reminder' },
    h('div', {}, h('a', { href }, h('strong', {}, title)), detail ? h('p', { class: 'muted reminder-text' }, detail) : null),
    tag);
}

/** Each kind of item: its key in the answer, its heading, and how one item reads. */
const KINDS = [
  ['overdue', (c) => t('home.reminders.overdue', { count: c }), (f) => line(`#/customers/${f.id}`, f.title, f.last_content, badge(formatDateTime(f.due_at), 'danger'))],
  ['approvals_waiting', (c) => t('inbox.approvals', { count: c }), (a) => line(`#/${a.entity}/${a.id}`, a.title, t('inbox.submitted_by', { who: a.submitter || '—' }), badge(formatDateTime(a.submitted_at), 'info'))],
  ['today', (c) => t('home.reminders.today', { count: c }), (f) => line(`#/customers/${f.id}`, f.title, f.last_content, badge(formatDateTime(f.due_at), 'info'))],
  ['tasks_due', (c) => t('inbox.tasks', { count: c }), (task) => line(`#/tasks/${task.id}`, task.title, null, badge(formatDateTime(task.due_at), WHEN_KIND[task.when]))],
  ['pool_returning', (c) => t('inbox.pool', { count: c }), (p) => line(`#/customers/${p.id}`, p.title, t('inbox.pool_hint'), badge(t('inbox.returns_on', { date: formatDate(p.returns_at, { dateStyle: 'medium' }) }), 'danger'))],
  ['payments_due', (c) => t('inbox.payments', { count: c }), (p) => line(`#/contracts/${p.contract_id}`, p.title, t('home.instalment', { n: p.instalment }), badge(`${money(p.outstanding)} · ${formatDate(p.due_date, { dateStyle: 'medium' })}`, p.overdue ? 'danger' : 'info'))],
  ['expiring_contracts', (c) => t('inbox.contracts', { count: c }), (c) => line(`#/contracts/${c.id}`, c.title, c.number, badge(t('home.ends_on', { date: formatDate(c.ends_on, { dateStyle: 'medium' }) }), 'neutral'))],
  ['upcoming', (c) => t('home.reminders.upcoming', { count: c }), (f) => line(`#/customers/${f.id}`, f.title, f.last_content, badge(formatDateTime(f.due_at), 'neutral'))],
];

/** The customer list holding all of a follow-up bucket, when the inbox shows only its first. */
function followupsList(key, { windows }) {
  const range = {
    overdue: [['lt', windows.today_start]],
    today: [['gte', windows.today_start], ['lt', windows.tomorrow]],
    upcoming: [['gte', windows.tomorrow], ['lt', windows.horizon]],
  }[key];
  const query = new URLSearchParams({ 'filter[owner_id]': session.user.id, sort: 'next_followup_at' });
  for (const [op, at] of range) query.set(`filter[next_followup_at][${op}]`, at);
  return `#/customers?${query}`;
}

/** Where "see all" of a section leads: its own list when the inbox caps it, else the inbox. */
function seeAll(key, answer, total) {
  if (key === 'approvals_waiting') return '#/approvals';
  if (total > answer[key].length && ['overdue', 'today', 'upcoming'].includes(key)) return followupsList(key, answer);
  return '#/inbox';
}

/**
 * The inbox's sections from a `/reminders` answer: `keys` the kinds shown, `limit` the items
 * per kind (the heading still counts them all, and links to where they all are).
 */
export function inboxSections(answer, { keys = KINDS.map(([k]) => k), limit = Infinity } = {}) {
  const sections = KINDS.filter(([key]) => keys.includes(key) && answer[key].length).map(([key, heading, item]) => {
    const total = answer.counts[key] ?? answer[key].length;
    return h('div', { class: 'reminder-group', dataset: { inbox: key } },
      h('h3', {}, heading(total)),
      h('ul', { class: 'reminders' }, answer[key].slice(0, limit).map(item)),
      total > Math.min(limit, answer[key].length) ? h('a', { href: seeAll(key, answer, total) }, t('inbox.see_all', { count: total })) : null);
  });
  return sections.length ? sections : [emptyState('inbox', t('home.todo_empty'))];
}

export function inboxPage() {
  document.title = `${t('nav.inbox')} · ${t('app.name')}`;
  const body = h('div', {}, loading());
  const load = async () => {
    mount(body, loading());
    try {
      const answer = await api('GET', '/reminders');
      mount(body, h('section', { class: 'card' }, inboxSections(answer)));
    } catch (error) {
      mount(body, errorState(error, load));
    }
  };
  load();
  return h('div', { class: 'page page-narrow' },
    h('header', { class: 'page-header' }, h('h1', {}, t('nav.inbox')), h('p', { class: 'muted' }, t('inbox.intro'))),
    body);
}
