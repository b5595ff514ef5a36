// Home (工作台): greeting, the first of my 待办 (follow-ups, approvals, tasks, customers about to
// go back to the pool), my pipeline, my tasks,
// payments due and contracts about to end, and the account at a glance.
import { api } from '../api.js';
import { h, mount } from '../dom.js';
import { t } from '../i18n.js';
import { formatDate, formatDateTime, formatList, formatMoney, hourNow } from '../format.js';
import { session } from '../session.js';
import { badge, card, emptyState, errorState, loading } from '../ui.js';
import { barChart } from '../chart.js';
import { inboxSections } from './inbox.js';

const may = (module) => session.user.permissions?.[module]?.actions.includes('view');
const money = (amount) => formatMoney(amount, session.user.company?.currency || 'CNY');

/** A card body that loads, then draws, with loading and error states. */
function loaded(load, draw) {
  const body = h('div', {}, loading());
  const run = () => load().then((answer) => mount(body, draw(answer))).catch((error) => mount(body, errorState(error, run)));
  run();
  return body;
}

function myPipeline() {
  return loaded(() => api('GET', `/opportunities/board?per_column=1&filter[owner_id]=${session.user.id}`), (answer) => {
    const open = answer.columns.filter((c) => c.kind === 'open');
    if (!open.some((c) => c.count)) return emptyState('board', t('home.pipeline_empty'));
    return h('div', {},
      barChart(open.map((c) => ({ label: `${c.name} (${c.count})`, value: c.amount, text: money(c.amount) })), { caption: t('home.pipeline_caption') }),
      h('a', { href: '#/opportunities/board?mine=1' }, t('home.open_board')));
  });
}

function myTasks() {
  const query = `/tasks?filter[assignee_id]=${session.user.id}&filter[status][in]=open,in_progress&sort=due_at&per_page=8`;
  const all = h('a', { href: `#/tasks?filter[owner_id]=${session.user.id}` }, t('home.all_my_tasks'));
  return loaded(() => api('GET', query), (answer) => (answer.items.length
    ? h('div', {}, h('ul', { class: 'reminders' }, answer.items.map((task) => h('li', { class: 'reminder' },
      h('a', { href: `#/tasks/${task.id}` }, h('strong', {}, task.title)),
      task.due_at ? badge(formatDateTime(task.due_at), new Date(task.due_at) < new Date() ? 'danger' : 'neutral') : null))), all)
    : h('div', {}, emptyState('task', t('home.tasks_empty')), all)));
}

function moneyDue(answer) {
  const plans = answer.payments_due.map((p) => h('li', { class: 'reminder' },
    h('a', { href: `#/contracts/${p.contract_id}` }, h('strong', {}, p.title), ` · ${t('home.instalment', { n: p.instalment })}`),
    badge(`${money(p.outstanding)} · ${formatDate(p.due_date, { dateStyle: 'medium' })}`, p.overdue ? 'danger' : 'info')));
  const contracts = answer.expiring_contracts.map((c) => h('li', { class: 'reminder' },
    h('a', { href: `#/contracts/${c.id}` }, h('strong', {}, c.title), ` · ${c.number}`),
    badge(t('home.ends_on', { date: formatDate(c.ends_on, { dateStyle: 'medium' }) }), 'neutral')));
  if (!plans.length && !contracts.length) return emptyState('money', t('home.money_empty'));
  return h('div', {},
    plans.length ? h('div', { class: 'reminder-group' }, h('h3', {}, t('home.payments_due')), h('ul', { class: 'reminders' }, plans)) : null,
    contracts.length ? h('div', { class: 'reminder-group' }, h('h3', {}, t('home.expiring_contracts')), h('ul', { class: 'reminders' }, contracts)) : null);
}

function greeting(name) {
  const hour = hourNow();
  const part = hour < 12 ? 'morning' : hour < 18 ? 'afternoon' : 'evening';
  return t(`home.greeting.${part}`, { name });
}

function facts(rows) {
  return h('dl', { class: 'facts' }, rows.map(([label, value]) => [h('dt', {}, label), h('dd', {}, value)]));
}

/** The 待办 card: the first few of what waits on me now; money has its own card. */
function reminders() {
  return loaded(() => api('GET', '/reminders'), (answer) => h('div', {},
    inboxSections(answer, { keys: ['overdue', 'approvals_waiting', 'today', 'tasks_due', 'pool_returning', 'upcoming'], limit: 5 }),
    h('a', { href: '#/inbox' }, t('inbox.open'))));
}

export function homePage() {
  const user = session.user;
  const company = user.company || {};
  document.title = `${t('nav.home')} · ${t('app.name')}`;
  const roles = formatList(user.roles.map((role) => (role.builtin ? t(`role.${role.builtin}`) : role.name))) || '—';
  return h('div', { class: 'page' },
    h('header', { class: 'page-header' },
      h('h1', {}, greeting(user.display_name)),
      h('p', { class: 'muted' }, t('home.today', { date: formatDate(new Date(), { dateStyle: 'full' }) }))),
    h('div', { class: 'grid' },
      card(t('home.todo'), reminders()),
      may('opportunities') ? card(t('home.my_pipeline'), myPipeline()) : null,
      may('tasks') ? card(t('home.my_tasks'), myTasks()) : null,
      may('contracts') ? card(t('home.money'), loaded(() => api('GET', '/reminders'), moneyDue)) : null,
      card(t('home.account'), facts([
        [t('home.company'), company.name || '—'],
        [t('home.role'), roles],
        [t('home.member_since'), formatDate(user.created_at)],
        [t('home.timezone'), user.timezone || company.timezone || '—'],
        [t('home.currency'), company.currency || '—'],
      ]))));
}
