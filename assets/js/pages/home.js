// Home (工作台): greeting, follow-ups due (overdue, today, this week), and the account at a glance.
import { api } from '../api.js';
import { h, mount } from '../dom.js';
import { t } from '../i18n.js';
import { formatDate, formatDateTime, formatList, hourNow } from '../format.js';
import { session } from '../session.js';
import { badge, card, emptyState, errorState, loading } from '../ui.js';

function greeting(name) {
  const hour = hourNow();
  const part = hour < 12 ? 'morning' : hour < 18 ? 'afternoon' : 'evening';
  return t(`home.greeting.${part}`, { name });
}

function facts(rows) {
  return h('dl', { class: 'facts' }, rows.map(([label, value]) => [h('dt', {}, label), h('dd', {}, value)]));
}

function reminderList(items, kind) {
  return items.map((item) => h('li', { class: 'reminder' },
    h('div', {},
      h('a', { href: `#/${item.entity}/${item.id}` }, h('strong', {}, item.title)),
      item.last_content ? h('p', { class: 'muted reminder-text' }, item.last_content) : null),
    badge(formatDateTime(item.due_at), kind)));
}

function reminders() {
  const body = h('div', {}, loading());
  const load = async () => {
    mount(body, loading());
    try {
      const answer = await api('GET', '/reminders');
      const sections = [
        ['overdue', 'danger'], ['today', 'info'], ['upcoming', 'neutral'],
      ].filter(([key]) => answer[key].length).map(([key, kind]) => h('div', { class: 'reminder-group' },
        h('h3', {}, t(`home.reminders.${key}`, { count: answer[key].length })),
        h('ul', { class: 'reminders' }, reminderList(answer[key], kind))));
      mount(body, sections.length ? sections : emptyState('inbox', t('home.todo_empty')));
    } catch (error) {
      mount(body, errorState(error, load));
    }
  };
  load();
  return body;
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
      card(t('home.account'), facts([
        [t('home.company'), company.name || '—'],
        [t('home.role'), roles],
        [t('home.member_since'), formatDate(user.created_at)],
        [t('home.timezone'), user.timezone || company.timezone || '—'],
        [t('home.currency'), company.currency || '—'],
      ]))));
}
