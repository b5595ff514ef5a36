// #/settings/webhooks: webhooks for administrators. Subscribe a URL to an entity's events (the
// signing secret is shown once), switch one off or on, retry what waits, read the delivery log.
import { api } from '../../api.js';
import { h, icon, mount } from '../../dom.js';
import { t } from '../../i18n.js';
import { formatDateTime, formatNumber } from '../../format.js';
import { loadMeta } from '../../meta.js';
import { actionButton, badge, card, confirmAction, createForm, emptyState, errorState, loading, openDialog, table } from '../../ui.js';

function createDialog(meta, events, reload) {
  const form = createForm({
    fields: [
      { name: 'name', label: t('webhooks.name'), required: true, maxlength: 100 },
      { name: 'url', label: t('webhooks.url'), type: 'url', required: true, maxlength: 2000, placeholder: 'https://erp.example.com/kehu' },
      { name: 'entity', label: t('webhooks.entity'), type: 'select', options: [...meta.values()].map((e) => [e.name, e.label]) },
      { name: 'events', label: t('webhooks.events'), type: 'checkboxes', value: ['created'], options: events.map((e) => [e, t(`webhooks.event.${e}`)]) },
    ],
    submitLabel: t('webhooks.create'),
    async onSubmit(values) {
      const created = await api('POST', '/webhooks', values);
      dialog.close();
      reload();
      openDialog(t('webhooks.secret_title'), h('div', { class: 'form' },
        h('p', {}, t('webhooks.secret_hint')), h('code', { class: 'secret' }, created.secret)));
    },
  });
  const dialog = openDialog(t('webhooks.new'), form.el);
}

async function showLog(hook) {
  const body = h('div', {}, loading());
  openDialog(t('webhooks.log_title', { name: hook.name }), body);
  try {
    const answer = await api('GET', `/webhooks/${hook.id}/deliveries?per_page=50`);
    mount(body, table([
      { label: t('webhooks.when'), cell: (d) => formatDateTime(d.created_at) },
      { label: t('webhooks.events'), cell: (d) => t(`webhooks.event.${d.event}`) },
      { label: t('webhooks.status'), cell: (d) => badge(t(`webhooks.delivery.${d.status}`), d.status === 'delivered' ? 'ok' : d.status === 'failed' ? 'danger' : 'info') },
      { label: t('webhooks.attempts'), cell: (d) => formatNumber(d.attempts) },
      { label: t('webhooks.response'), cell: (d) => [d.status_code ?? '—', d.response_ms !== null ? ` · ${formatNumber(d.response_ms)} ms` : '', d.last_error ? h('span', { class: 'cell-sub' }, d.last_error) : null] },
    ], answer.items, t('webhooks.log_empty')));
  } catch (error) {
    mount(body, errorState(error));
  }
}

function hookActions(hook, reload) {
  const act = (label, action) => actionButton(label, action, reload);
  return h('div', { class: 'header-actions' },
    h('button', { class: 'btn', type: 'button', on: { click: () => showLog(hook) } }, icon('log'), t('webhooks.log')),
    act(t(hook.active ? 'webhooks.switch_off' : 'webhooks.switch_on'), () => api('PATCH', `/webhooks/${hook.id}`, { active: !hook.active, version: hook.version })),
    hook.waiting ? act(t('webhooks.retry'), () => api('POST', `/webhooks/${hook.id}/retry`, {})) : null,
    act(t('common.delete'), async () => {
      if (await confirmAction(t('webhooks.delete'), t('webhooks.delete_confirm', { name: hook.name }), t('common.delete'))) await api('DELETE', `/webhooks/${hook.id}`);
    }));
}

export function webhooksPage() {
  document.title = `${t('nav.webhooks')} · ${t('app.name')}`;
  const body = h('div', {}, loading());
  const add = h('button', { class: 'btn btn-primary', type: 'button' }, icon('plus'), t('webhooks.new'));
  const load = async () => {
    try {
      const [meta, answer] = await Promise.all([loadMeta(), api('GET', '/webhooks')]);
      add.onclick = () => createDialog(meta, answer.events, load);
      mount(body, answer.items.length
        ? answer.items.map((hook) => card(`${hook.name} · ${meta.get(hook.entity)?.label ?? hook.entity}`,
          h('p', {}, h('code', {}, hook.url)),
          h('p', { class: 'muted' }, hook.events.map((e) => t(`webhooks.event.${e}`)).join('、'), ' · ',
            t('webhooks.counts', { delivered: formatNumber(hook.delivered), waiting: formatNumber(hook.waiting), failed: formatNumber(hook.failed) })),
          hook.active ? null : h('p', { class: 'banner banner-error' }, t('webhooks.off')),
          hookActions(hook, load)))
        : emptyState('upload', t('webhooks.empty')));
    } catch (error) {
      mount(body, errorState(error, load));
    }
  };
  load();
  return h('div', { class: 'page page-narrow' },
    h('header', { class: 'page-header with-actions' }, h('h1', {}, t('nav.webhooks')), h('div', { class: 'header-actions' }, add)),
    h('p', { class: 'muted' }, t('webhooks.intro')),
    body);
}
