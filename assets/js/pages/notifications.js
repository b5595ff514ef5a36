// #/notifications: every notification, newest first, all or unread only; new ones appear as
// they arrive (the live stream), and each opens its record.
import { api } from '../api.js';
import { h, mount } from '../dom.js';
import { t } from '../i18n.js';
import { emptyState, errorState, errorText, loading, pager, toast } from '../ui.js';
import { markAllRead, notificationItem, onNotifications, openNotification } from '../notifications.js';

export function notificationsPage(params, query) {
  document.title = `${t('notifications.title')} · ${t('app.name')}`;
  let onlyUnread = query.get('unread') === '1';
  let page = 1;
  const body = h('div', {}, loading());
  const tabs = h('div', { class: 'tabs', role: 'group', 'aria-label': t('notifications.title') });
  const drawTabs = () => mount(tabs, [[false, 'notifications.all'], [true, 'notifications.unread']].map(([unread, label]) => h('button', {
    class: `chip ${onlyUnread === unread ? 'active' : ''}`, type: 'button', 'aria-pressed': String(onlyUnread === unread),
    on: { click: () => { onlyUnread = unread; page = 1; drawTabs(); load(); } },
  }, t(label))));
  const load = async () => {
    try {
      const answer = await api('GET', `/notifications?page=${page}&per_page=20${onlyUnread ? '&unread=true' : ''}`);
      mount(body, answer.items.length
        ? h('div', {}, h('ul', { class: 'notices notices-page' }, answer.items.map((n) => notificationItem(n, openNotification))),
          pager(answer, (to) => { page = to; load(); }))
        : emptyState('bell', t(onlyUnread ? 'notifications.empty_unread' : 'notifications.empty')));
    } catch (error) {
      mount(body, errorState(error, load));
    }
  };
  const root = h('div', { class: 'page page-narrow' },
    h('header', { class: 'page-header with-actions' },
      h('h1', {}, t('notifications.title')),
      h('div', { class: 'header-actions' }, h('button', { class: 'btn', type: 'button', on: { click: async () => {
        try {
          await markAllRead();
          load();
        } catch (error) {
          toast(errorText(error), 'error');
        }
      } } }, t('notifications.mark_all')))),
    tabs,
    h('section', { class: 'card' }, body));
  const stop = onNotifications((event) => {
    if (!root.isConnected) {
      stop();
      return;
    }
    if (event.notification && page === 1) load();
  });
  drawTabs();
  load();
  return root;
}
