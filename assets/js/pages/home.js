// Home (工作台): greeting, today's to-do, and the user's account at a glance.
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { formatDate, formatList, hourNow } from '../format.js';
import { session } from '../session.js';
import { card, emptyState } from '../ui.js';

function greeting(name) {
  const hour = hourNow();
  const part = hour < 12 ? 'morning' : hour < 18 ? 'afternoon' : 'evening';
  return t(`home.greeting.${part}`, { name });
}

function facts(rows) {
  return h('dl', { class: 'facts' }, rows.map(([label, value]) => [h('dt', {}, label), h('dd', {}, value)]));
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
      card(t('home.todo'), emptyState('inbox', t('home.todo_empty'))),
      card(t('home.account'), facts([
        [t('home.company'), company.name || '—'],
        [t('home.role'), roles],
        [t('home.member_since'), formatDate(user.created_at)],
        [t('home.timezone'), user.timezone || company.timezone || '—'],
        [t('home.currency'), company.currency || '—'],
      ]))));
}
