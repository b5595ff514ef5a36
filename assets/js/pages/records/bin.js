// A module's recycle bin (#/E/bin: the caller's deleted records, restored one by one) and its
// import history (#/E/imports: the batches, who ran them, when, their counts, and undo).
import { api } from '../../api.js';
import { h, icon, mount } from '../../dom.js';
import { t } from '../../i18n.js';
import { formatDateTime, formatNumber } from '../../format.js';
import { actionButton, badge, confirmAction, errorState, loading, pager, table, toast } from '../../ui.js';
import { can, display, labelOf, loadMeta } from '../../meta.js';

function pageFor(entity, titleKey, intro, body) {
  document.title = `${t(titleKey, { entity: entity.label })} · ${t('app.name')}`;
  return h('div', { class: 'page' },
    h('header', { class: 'page-header with-actions' },
      h('h1', {}, t(titleKey, { entity: entity.label })),
      h('div', { class: 'header-actions' }, h('a', { class: 'btn', href: `#/${entity.name}` }, entity.label))),
    h('p', { class: 'muted' }, intro),
    body);
}

/** The entity's meta, or the error state when it cannot be loaded. */
async function withEntity(entityName, root, draw) {
  try {
    const meta = await loadMeta();
    draw(meta.get(entityName));
  } catch (error) {
    mount(root, errorState(error, () => withEntity(entityName, root, draw)));
  }
}

export function recycleBinPage(entityName) {
  return () => {
    const root = h('div', {}, loading());
    withEntity(entityName, root, (entity) => {
      const body = h('div', {}, loading());
      const load = async (page = 1) => {
        mount(body, loading());
        try {
          const answer = await api('GET', `/recycle-bin/${entity.name}?page=${page}&per_page=50&sort=-updated_at`);
          const restore = (record) => actionButton(t('bin.restore'), async () => {
            await api('POST', `/recycle-bin/${entity.name}/${record.id}/restore`, {});
            toast(t('bin.restored', { title: String(display(entity, entity.title_field, record)) }));
          }, () => load(answer.page));
          mount(body, table([
            { label: labelOf(entity, entity.title_field), cell: (r) => display(entity, entity.title_field, r) },
            { label: t('bin.deleted_at'), cell: (r) => formatDateTime(r.deleted_at) },
            { label: '', cell: (r) => restore(r) },
          ], answer.items, t('bin.empty', { entity: entity.label })),
          answer.total > answer.per_page ? pager(answer, load) : null);
        } catch (error) {
          mount(body, errorState(error, () => load(page)));
        }
      };
      load();
      mount(root, pageFor(entity, 'bin.title', t('bin.intro'), body));
    });
    return root;
  };
}

export function importHistoryPage(entityName) {
  return () => {
    const root = h('div', {}, loading());
    withEntity(entityName, root, (entity) => {
      const body = h('div', {}, loading());
      const load = async () => {
        mount(body, loading());
        try {
          const answer = await api('GET', `/imports?entity=${entity.name}`);
          const undo = (batch) => actionButton(t('import.undo'), async () => {
            if (!await confirmAction(t('import.undo'), t('imports.undo_confirm', { file: batch.file_name, count: formatNumber(batch.created) }), t('import.undo'))) return;
            const done = await api('DELETE', `/imports/${batch.id}`);
            toast(t('import.undone', { deleted: done.deleted, reverted: done.reverted, skipped: done.skipped.length }));
          }, load);
          mount(body, table([
            { label: t('imports.file'), cell: (b) => b.file_name },
            { label: t('imports.who'), cell: (b) => b.user_name || '—' },
            { label: t('imports.when'), cell: (b) => formatDateTime(b.created_at) },
            { label: t('imports.counts'), cell: (b) => t('imports.counted', { rows: formatNumber(b.rows), created: formatNumber(b.created), updated: formatNumber(b.updated) }) },
            { label: '', cell: (b) => {
              if (b.undone_at) return badge(t('imports.undone_at', { when: formatDateTime(b.undone_at) }), 'neutral');
              if (b.state === 'running') return badge(t('import.progress', { done: formatNumber(b.processed), total: formatNumber(b.rows) }), 'neutral');
              return undo(b);
            } },
          ], answer.items, t('imports.empty')));
        } catch (error) {
          mount(body, errorState(error, load));
        }
      };
      load();
      mount(root, pageFor(entity, 'imports.title', t('imports.intro'), body));
    });
    return root;
  };
}

/** The list page's links to both, for those who may use them. */
export function binLinks(entity) {
  return [
    can(entity, 'delete') ? h('a', { class: 'btn', href: `#/${entity.name}/bin` }, icon('trash'), t('bin.open')) : null,
    can(entity, 'import') ? h('a', { class: 'btn', href: `#/${entity.name}/imports` }, icon('log'), t('imports.open')) : null,
  ];
}
