// The signed-in frame: sidebar menu, header (company, language, theme, font size, user menu),
// and the content area. On a phone the sidebar slides in from the menu button.
import { h, icon, mount } from '../dom.js';
import { language, t } from '../i18n.js';
import { savePreferences, session } from '../session.js';
import { navigate } from '../router.js';
import { toast, errorText } from '../ui.js';
import { bell, connectNotifications } from '../notifications.js';
import { approvalCount } from '../approvals.js';
import { inboxCount } from './inbox.js';

// Modules add their entries here as they are built; nothing unbuilt is listed.
// `admin: true` entries are shown to administrators only (the server refuses others anyway).
const MENU = [
  { items: [
    { path: '/', label: 'nav.home', icon: 'home' },
    { path: '/inbox', label: 'nav.inbox', icon: 'inbox', count: inboxCount },
    { path: '/notifications', label: 'nav.notifications', icon: 'bell' },
    { path: '/approvals', label: 'nav.approvals', icon: 'stamp', count: approvalCount },
    { path: '/announcements', label: 'nav.announcements', icon: 'chat' },
  ] },
  { group: 'nav.group.customers', items: [
    { path: '/customers', label: 'entity.customers', icon: 'building', entity: 'customers' },
    { path: '/pool', label: 'nav.pool', icon: 'pool', entity: 'customers' },
    { path: '/contacts', label: 'entity.contacts', icon: 'user', entity: 'contacts' },
    { path: '/followups', label: 'entity.followups', icon: 'chat', entity: 'followups' },
  ] },
  { group: 'nav.group.sales', items: [
    { path: '/leads', label: 'entity.leads', icon: 'inbox', entity: 'leads' },
    { path: '/opportunities/board', label: 'nav.board', icon: 'board', entity: 'opportunities' },
    { path: '/opportunities', label: 'entity.opportunities', icon: 'money', entity: 'opportunities' },
    { path: '/contracts', label: 'entity.contracts', icon: 'file', entity: 'contracts' },
    { path: '/payment_plans', label: 'entity.payment_plans', icon: 'log', entity: 'payment_plans' },
    { path: '/payments', label: 'entity.payments', icon: 'money', entity: 'payments' },
    { path: '/invoices', label: 'entity.invoices', icon: 'file', entity: 'invoices' },
    { path: '/products', label: 'entity.products', icon: 'box', entity: 'products' },
    { path: '/tasks', label: 'entity.tasks', icon: 'task', entity: 'tasks' },
    { path: '/sales', label: 'nav.sales_analytics', icon: 'funnel', entity: 'opportunities' },
    { path: '/targets', label: 'nav.targets', icon: 'target', entity: 'opportunities' },
  ] },
  { group: 'nav.group.office', items: [
    { path: '/expenses', label: 'entity.expenses', icon: 'money', entity: 'expenses' },
    { path: '/leaves', label: 'entity.leaves', icon: 'log', entity: 'leaves' },
    { path: '/purchases', label: 'entity.purchases', icon: 'box', entity: 'purchases' },
  ] },
  { group: 'nav.group.system', items: [
    { path: '/settings/users', label: 'nav.users', icon: 'users', admin: true },
    { path: '/settings/departments', label: 'nav.departments', icon: 'tree', admin: true },
    { path: '/settings/roles', label: 'nav.roles', icon: 'key', admin: true },
    { path: '/settings/fields', label: 'nav.fields', icon: 'columns', admin: true },
    { path: '/settings/pipelines', label: 'nav.pipelines', icon: 'funnel', admin: true },
    { path: '/settings/pool', label: 'nav.pool_settings', icon: 'pool', admin: true },
    { path: '/settings/approvals', label: 'nav.approval_flows', icon: 'stamp', admin: true },
    { path: '/settings/audit', label: 'nav.audit', icon: 'log', admin: true },
    { path: '/settings/company', label: 'nav.company', icon: 'building', admin: true },
    { path: '/settings/mail', label: 'nav.mail', icon: 'chat', admin: true },
    { path: '/settings/webhooks', label: 'nav.webhooks', icon: 'upload', admin: true },
    { path: '/settings/automation', label: 'nav.automation', icon: 'task', admin: true },
    { path: '/settings/system', label: 'nav.system', icon: 'settings', admin: true },
    { path: '/me', label: 'nav.me', icon: 'user' },
  ] },
];

async function save(changes, rerender) {
  try {
    await savePreferences(changes);
    rerender();
  } catch (error) {
    toast(errorText(error), 'error');
  }
}

function sidebar(closeNav) {
  return h('nav', { class: 'sidebar', id: 'sidebar', 'aria-label': t('shell.menu') },
    h('a', { class: 'brand', href: '#/', on: { click: closeNav } },
      h('img', { src: '/img/logo.svg', alt: '', width: 28, height: 28 }), h('span', {}, t('app.name'))),
    MENU.map((section) => h('div', { class: 'nav-section' },
      section.group ? h('div', { class: 'nav-group' }, t(section.group)) : null,
      h('ul', {}, section.items.filter((item) => (!item.admin || session.user.is_admin) && (!item.entity || session.user.permissions?.[item.entity]?.actions.includes('view'))).map((item) => h('li', {},
        h('a', { class: 'nav-link', href: `#${item.path}`, dataset: { path: item.path }, on: { click: closeNav } },
          icon(item.icon), h('span', {}, t(item.label)), item.count ? menuCount(item.count, item.label) : null)))))));
}

/** A live count beside a menu entry (approvals waiting for me, what is due in my 待办). */
function menuCount(source, label) {
  const count = h('span', { class: 'nav-count', hidden: true });
  source.subscribe((n) => {
    count.hidden = !n;
    count.textContent = n > 99 ? '99+' : String(n);
    count.setAttribute('aria-label', t('nav.count', { entry: t(label), count: n }));
  });
  return count;
}

function userMenu(onSignOut) {
  const user = session.user;
  const panel = h('div', { class: 'menu-panel', role: 'menu', hidden: true },
    h('div', { class: 'menu-head' }, h('strong', {}, user.display_name), h('span', { class: 'muted' }, user.username)),
    h('a', { class: 'menu-item', role: 'menuitem', href: '#/me', on: { click: () => { panel.hidden = true; } } }, icon('user'), t('shell.preferences')),
    h('button', { class: 'menu-item', role: 'menuitem', type: 'button', on: { click: onSignOut } }, icon('logout'), t('shell.sign_out')));
  const button = h('button', {
    class: 'user-button', type: 'button', 'aria-haspopup': 'menu', 'aria-expanded': 'false', 'aria-label': t('shell.user_menu'),
    on: { click: (event) => {
      event.stopPropagation();
      panel.hidden = !panel.hidden;
      button.setAttribute('aria-expanded', String(!panel.hidden));
    } },
  }, h('span', { class: 'avatar', 'aria-hidden': 'true' }, [...user.display_name][0] || '?'), h('span', { class: 'user-name' }, user.display_name));
  const close = () => {
    panel.hidden = true;
    button.setAttribute('aria-expanded', 'false');
  };
  document.addEventListener('click', (event) => { if (!panel.contains(event.target)) close(); });
  document.addEventListener('keydown', (event) => { if (event.key === 'Escape') close(); });
  return h('div', { class: 'user-menu' }, button, panel);
}

/** The global search box: searches every entity the user may see (#/search?q=). */
function searchBox() {
  const input = h('input', { class: 'input', type: 'search', name: 'q', placeholder: t('search.placeholder'), 'aria-label': t('search.title'), enterkeyhint: 'search' });
  return h('form', { class: 'global-search', role: 'search', on: { submit: (event) => {
    event.preventDefault();
    const q = input.value.trim();
    if (q) navigate(`/search?q=${encodeURIComponent(q)}`);
  } } }, icon('search'), input);
}

function header(toggleNav, rerender, onSignOut) {
  const user = session.user;
  const other = language() === 'zh-CN' ? 'en' : 'zh-CN';
  const dark = user.theme === 'dark';
  return h('header', { class: 'topbar' },
    h('button', { class: 'icon-button nav-toggle', type: 'button', 'aria-controls': 'sidebar', 'aria-label': t('shell.menu'), on: { click: toggleNav } }, icon('menu')),
    h('div', { class: 'company' }, user.company?.name || ''),
    searchBox(),
    h('div', { class: 'topbar-tools' },
      h('button', {
        class: 'chip', type: 'button', lang: other, 'aria-label': t('shell.language'),
        on: { click: () => save({ language: other }, rerender) },
      }, icon('globe'), h('span', {}, t('shell.switch_language'))),
      h('button', {
        class: 'icon-button', type: 'button', 'aria-label': t('shell.toggle_theme'), title: t('shell.toggle_theme'),
        on: { click: () => save({ theme: dark ? 'light' : 'dark' }, rerender) },
      }, icon(dark ? 'sun' : 'moon')),
      h('div', { class: 'font-size', role: 'group', 'aria-label': t('shell.font_size') },
        ['small', 'medium', 'large'].map((size) => h('button', {
          type: 'button', class: `font-${size} ${user.font_size === size ? 'active' : ''}`,
          'aria-pressed': String(user.font_size === size), 'aria-label': `${t('shell.font_size')}: ${t(`shell.font_${size}`)}`,
          title: t(`shell.font_${size}`),
          on: { click: () => save({ font_size: size }, rerender) },
        }, 'A'))),
      bell(),
      userMenu(onSignOut)));
}

/** Builds the shell; `show(node, path)` puts a page in the content area. */
export function createShell({ rerender, onSignOut }) {
  connectNotifications();
  approvalCount.refresh();
  let root;
  const toggleNav = () => root.classList.toggle('nav-open');
  const closeNav = () => root.classList.remove('nav-open');
  const main = h('main', { class: 'content', id: 'main', tabindex: '-1' });
  root = h('div', { class: 'shell' },
    h('a', { class: 'skip-link', href: '#main', on: { click: (e) => { e.preventDefault(); main.focus(); } } }, t('shell.skip')),
    sidebar(closeNav),
    h('div', { class: 'backdrop', on: { click: closeNav } }),
    h('div', { class: 'frame' }, header(toggleNav, rerender, onSignOut), main));
  return {
    el: root,
    show(node, path) {
      // The entry whose address is the longest prefix of the page's wins (the board, not the
      // opportunity list, for #/opportunities/board).
      const links = [...root.querySelectorAll('.nav-link')];
      const matches = (linkPath) => linkPath === path || (linkPath !== '/' && path?.startsWith(`${linkPath}/`));
      const best = links.map((l) => l.dataset.path).filter(matches).sort((a, b) => b.length - a.length)[0];
      for (const link of links) {
        const linkPath = link.dataset.path;
        const active = linkPath === best;
        link.classList.toggle('active', active);
        if (active) link.setAttribute('aria-current', 'page');
        else link.removeAttribute('aria-current');
      }
      mount(main, node);
      main.scrollTop = 0;
      // What is due changes with what people do on the pages; the count follows each new one.
      inboxCount.refresh();
    },
  };
}
