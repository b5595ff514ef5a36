// Live notifications: one EventSource per signed-in tab on /api/v1/notifications/stream. The
// browser reconnects by itself and sends the last event id, so nothing is lost or doubled; the
// bell and the notifications page listen here instead of polling.
import { api, sessionEnded } from './api.js';
import { h, icon, mount } from './dom.js';
import { t } from './i18n.js';
import { formatDateTime, formatNumber } from './format.js';
import { navigate } from './router.js';
import { emptyState, errorState, errorText, loading, toast } from './ui.js';
import { recordPath } from './meta.js';

let source = null;
let unread = 0;
const listeners = new Set();

function tell(event) {
  for (const listener of listeners) listener(event);
}

/** Calls `listener({ unread })` when the count changes and `({ notification })` for a new one. */
export function onNotifications(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function unreadCount() {
  return unread;
}

/** Opens the stream once per page load; later calls (a redrawn shell) keep it. */
export function connectNotifications() {
  if (source) return;
  source = new EventSource('/api/v1/notifications/stream');
  source.addEventListener('unread', (event) => {
    unread = JSON.parse(event.data).unread;
    tell({ unread });
  });
  source.addEventListener('notification', (event) => {
    const notification = JSON.parse(event.data);
    tell({ notification });
    toast(notification.message, 'info');
  });
  // Signed out in another tab (or frozen): closed before the browser would try again without
  // a session, and this tab goes to sign-in too.
  source.addEventListener('signed_out', () => {
    disconnectNotifications();
    sessionEnded();
  });
}

export function disconnectNotifications() {
  source?.close();
  source = null;
  unread = 0;
}

/** Where a notification leads: its record, else the notifications page. */
export function notificationPath(notification) {
  if (notification.kind === 'announcement') return `/announcements/${notification.params.announcement_id}`;
  return notification.entity && notification.record_id
    ? recordPath(notification.entity, notification.record_id)
    : '/notifications';
}

/** Marks it read (if it is not) and opens what it is about. */
export async function openNotification(notification) {
  if (!notification.read) {
    try {
      await api('POST', `/notifications/${notification.id}/read`);
    } catch (error) {
      toast(errorText(error), 'error');
    }
  }
  navigate(notificationPath(notification));
}

/** One notification as a row: its message, when, and unread state. */
export function notificationItem(notification, onOpen) {
  return h('li', { class: `notice ${notification.read ? '' : 'notice-unread'}` },
    h('button', { class: 'notice-open', type: 'button', on: { click: () => onOpen(notification) } },
      h('span', { class: 'notice-dot', 'aria-hidden': 'true' }),
      h('span', { class: 'notice-text' },
        h('span', { class: 'notice-message' }, notification.message),
        h('time', { class: 'muted', datetime: notification.created_at }, formatDateTime(notification.created_at))),
      notification.read ? null : h('span', { class: 'sr-only' }, t('notifications.unread'))));
}

export async function markAllRead() {
  const answer = await api('POST', '/notifications/read-all');
  toast(t('notifications.marked', { count: formatNumber(answer.marked) }));
}

/** The header's bell: the unread count, and a panel of the latest notifications. */
export function bell() {
  const count = h('span', { class: 'bell-count', hidden: true });
  const list = h('div', { class: 'bell-list' });
  const panel = h('div', { class: 'menu-panel bell-panel', role: 'dialog', 'aria-label': t('notifications.title'), hidden: true },
    h('div', { class: 'bell-head' }, h('strong', {}, t('notifications.title')),
      h('button', { class: 'btn', type: 'button', on: { click: async () => {
        try {
          await markAllRead();
          load();
        } catch (error) {
          toast(errorText(error), 'error');
        }
      } } }, t('notifications.mark_all'))),
    list,
    h('a', { class: 'bell-all', href: '#/notifications', on: { click: () => close() } }, t('notifications.view_all')));
  const button = h('button', {
    class: 'icon-button bell', type: 'button', 'aria-haspopup': 'dialog', 'aria-expanded': 'false',
    on: { click: (event) => {
      event.stopPropagation();
      if (panel.hidden) open();
      else close();
    } },
  }, icon('bell'), count);
  const root = h('div', { class: 'user-menu bell-menu' }, button, panel);
  const label = () => {
    button.setAttribute('aria-label', t('notifications.bell', { count: unread }));
    button.title = button.getAttribute('aria-label');
    count.hidden = unread === 0;
    count.textContent = unread > 99 ? '99+' : String(unread);
  };
  const load = async () => {
    mount(list, loading());
    try {
      const answer = await api('GET', '/notifications?per_page=8');
      mount(list, answer.items.length
        ? h('ul', { class: 'notices' }, answer.items.map((n) => notificationItem(n, (chosen) => { close(); openNotification(chosen); })))
        : emptyState('bell', t('notifications.empty')));
    } catch (error) {
      mount(list, errorState(error, load));
    }
  };
  function open() {
    panel.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    load();
  }
  function close() {
    panel.hidden = true;
    button.setAttribute('aria-expanded', 'false');
  }
  // A redrawn shell (a language switch) builds a new bell; the old one stops listening.
  const stop = onNotifications((event) => {
    if (!root.isConnected) {
      stop();
      return;
    }
    label();
    if (event.notification && !panel.hidden) load();
  });
  document.addEventListener('click', (event) => { if (!root.contains(event.target)) close(); });
  document.addEventListener('keydown', (event) => { if (event.key === 'Escape') close(); });
  label();
  return root;
}
