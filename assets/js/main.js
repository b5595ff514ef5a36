// Boot: find out whether setup is needed and who is signed in, then draw the screen for the
// address; redraw on every address change.
import { api, onUnauthenticated } from './api.js';
import { h, mount } from './dom.js';
import { setLanguage } from './i18n.js';
import { currentPath, navigate, resolve, route } from './router.js';
import { loadUser, preferredLanguage, session, setUser } from './session.js';
import { errorState } from './ui.js';
import { createShell } from './pages/shell.js';
import { disconnectNotifications } from './notifications.js';
import { notificationsPage } from './pages/notifications.js';
import { announcementPage, announcementsPage } from './pages/announcements.js';
import { approvalsPage } from './pages/approvals.js';
import { inboxPage } from './pages/inbox.js';
import { approvalFlowsPage } from './pages/settings/approvals.js';
import { mailSettingsPage } from './pages/settings/mail.js';
import { companySettingsPage } from './pages/settings/company.js';
import { webhooksPage } from './pages/settings/webhooks.js';
import { automationPage } from './pages/settings/automation.js';
import { setupPage } from './pages/setup.js';
import { loginPage } from './pages/login.js';
import { homePage } from './pages/home.js';
import { mePage } from './pages/me.js';
import { notFoundPage } from './pages/notfound.js';
import { usersPage } from './pages/settings/users.js';
import { departmentsPage } from './pages/settings/departments.js';
import { auditPage } from './pages/settings/audit.js';
import { systemPage } from './pages/settings/system.js';
import { rolesPage } from './pages/settings/roles.js';
import { poolSettingsPage } from './pages/settings/pool.js';
import { fieldsPage } from './pages/settings/fields.js';
import { searchPage } from './pages/search.js';
import { listPage } from './pages/records/list.js';
import { newRecordPage, recordPage } from './pages/records/record.js';
import { importHistoryPage, recycleBinPage } from './pages/records/bin.js';
import { boardPage } from './pages/sales/board.js';
import { salesAnalyticsPage } from './pages/sales/funnel.js';
import { targetsPage } from './pages/sales/goals.js';
import { pipelinesPage } from './pages/settings/sales.js';

route('/setup', setupPage, { public: true });
route('/login', loginPage, { public: true });
route('/', homePage);
route('/me', mePage);
route('/settings/users', usersPage, { admin: true });
route('/settings/company', companySettingsPage, { admin: true });
route('/settings/departments', departmentsPage, { admin: true });
route('/settings/audit', auditPage, { admin: true });
route('/settings/system', systemPage, { admin: true });
route('/settings/roles', rolesPage, { admin: true });
route('/settings/pool', poolSettingsPage, { admin: true });
route('/settings/fields', fieldsPage, { admin: true });
route('/settings/pipelines', pipelinesPage, { admin: true });
route('/settings/approvals', approvalFlowsPage, { admin: true });
route('/settings/mail', mailSettingsPage, { admin: true });
route('/settings/webhooks', webhooksPage, { admin: true });
route('/settings/automation', automationPage, { admin: true });
route('/opportunities/board', boardPage);
route('/sales', salesAnalyticsPage);
route('/targets', targetsPage);
route('/pool', listPage('customers', { pool: true }));
route('/search', searchPage);
route('/notifications', notificationsPage);
route('/approvals', approvalsPage);
route('/inbox', inboxPage);
route('/announcements', announcementsPage);
route('/announcements/:id', announcementPage);
// Every entity of the engine: its list, a new-record address and its record page.
const ENTITIES = ['customers', 'contacts', 'followups', 'leads', 'opportunities', 'products', 'contracts',
  'payment_plans', 'payments', 'invoices', 'tasks', 'expenses', 'leaves', 'purchases'];
for (const entity of ENTITIES) {
  route(`/${entity}`, listPage(entity));
  route(`/${entity}/new`, newRecordPage(entity));
  route(`/${entity}/bin`, recycleBinPage(entity));
  route(`/${entity}/imports`, importHistoryPage(entity));
  route(`/${entity}/:id`, recordPage(entity));
}

const app = document.getElementById('app');
let shell = null;

async function signOut() {
  // Closed first: the server ends the stream of a signed-out session, and the browser would
  // try it again, unauthenticated.
  disconnectNotifications();
  try {
    await api('POST', '/auth/logout');
  } finally {
    setUser(null);
    shell = null;
    navigate('/login');
  }
}

/** Draws the current address, redirecting where the state of the system demands. */
function render() {
  const current = resolve();
  const { path } = current;
  if (session.setupNeeded && path !== '/setup') return navigate('/setup', { replace: true });
  if (!session.setupNeeded && path === '/setup') return navigate(session.user ? '/' : '/login', { replace: true });
  if (!current.options.public && !session.user) {
    return navigate(`/login?next=${encodeURIComponent(path)}`, { replace: true });
  }
  if (path === '/login' && session.user) return navigate('/', { replace: true });

  const rerender = () => {
    shell = null;
    render();
  };
  if (current.options.public) {
    shell = null;
    mount(app, current.render(current.params, current.query, rerender));
    return;
  }
  if (!shell) {
    shell = createShell({ rerender, onSignOut: signOut });
    mount(app, shell.el);
  }
  const allowed = current.pattern && (!current.options.admin || session.user.is_admin);
  const page = allowed ? current.render(current.params, current.query, rerender) : notFoundPage(path);
  shell.show(page, current.pattern);
}

async function boot() {
  try {
    const status = await api('GET', '/setup');
    session.setupNeeded = status.needed;
    session.defaultLanguage = status.default_language;
    if (!status.needed) await loadUser();
    await setLanguage(preferredLanguage());
  } catch (error) {
    await setLanguage(preferredLanguage()).catch(() => {});
    mount(app, h('main', { class: 'public' }, errorState(error, () => location.reload())));
    return;
  }
  onUnauthenticated(() => {
    if (!session.user) return;
    disconnectNotifications();
    setUser(null);
    shell = null;
    if (!resolve().options.public) navigate(`/login?next=${encodeURIComponent(currentPath().path)}`, { replace: true });
  });
  window.addEventListener('hashchange', render);
  render();
}

boot();
