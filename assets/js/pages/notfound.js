import { h, icon } from '../dom.js';
import { t } from '../i18n.js';

export function notFoundPage(path) {
  document.title = `${t('notfound.title')} · ${t('app.name')}`;
  return h('div', { class: 'page' },
    h('div', { class: 'state state-empty state-page' }, icon('alert'),
      h('h1', {}, t('notfound.title')),
      h('p', {}, t('notfound.body', { path })),
      h('a', { class: 'btn btn-primary', href: '#/' }, t('notfound.home'))));
}
