// #/settings/system: version, database size and backups, with "back up now" and download.
import { api } from '../../api.js';
import { h, icon } from '../../dom.js';
import { t } from '../../i18n.js';
import { formatDateTime, formatNumber } from '../../format.js';
import { card, errorText, loadInto, table, toast } from '../../ui.js';

function size(bytes) {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${formatNumber(value, { maximumFractionDigits: unit ? 1 : 0 })} ${units[unit]}`;
}

function facts(rows) {
  return h('dl', { class: 'facts' }, rows.map(([label, value]) => [h('dt', {}, label), h('dd', {}, value)]));
}

export function systemPage() {
  document.title = `${t('nav.system')} · ${t('app.name')}`;
  const body = h('div');
  const refresh = () => loadInto(body, () => api('GET', '/system/status'), (status) => {
    const progress = h('div', { class: 'progress', role: 'progressbar', 'aria-label': t('system.backing_up'), hidden: true }, h('div', { class: 'progress-bar' }));
    const button = h('button', { class: 'btn btn-primary', type: 'button', on: { click: async () => {
      button.disabled = true;
      progress.hidden = false;
      try {
        const created = await api('POST', '/system/backups');
        toast(t('system.backup_done', { name: created.name }));
        refresh();
      } catch (error) {
        toast(errorText(error), 'error');
        button.disabled = false;
        progress.hidden = true;
      }
    } } }, icon('plus'), t('system.backup_now'));
    return h('div', { class: 'page' },
      card(t('system.installation'), facts([
        [t('system.version'), status.version],
        [t('system.schema'), String(status.schema_version)],
        [t('system.database'), status.database_path],
        [t('system.database_size'), size(status.database_bytes)],
        [t('system.backup_dir'), status.backup_dir],
      ])),
      card(t('system.backups'),
        h('p', { class: 'muted' }, t('system.backups_intro')),
        h('div', { class: 'form-actions' }, button),
        progress,
        table([
          { label: t('system.backup_file'), cell: (b) => b.name },
          { label: t('system.backup_time'), cell: (b) => formatDateTime(b.created_at) },
          { label: t('system.backup_size'), cell: (b) => size(b.bytes) },
          { label: t('common.actions'), className: 'actions', cell: (b) => h('a', { class: 'btn', href: `/api/v1/system/backups/${encodeURIComponent(b.name)}`, download: b.name }, t('system.download')) },
        ], status.backups, t('system.no_backups'))));
  });
  refresh();
  return h('div', { class: 'page' },
    h('header', { class: 'page-header' }, h('h1', {}, t('nav.system')), h('p', { class: 'muted' }, t('system.intro'))),
    body);
}
