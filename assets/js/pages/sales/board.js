// #/opportunities/board: the kanban board (销售看板). One column per stage of the chosen
// pipeline with its count and amount (over the whole column, in the viewer's scope); cards are
// dragged to another column to move the deal, or moved with the select on each card (keyboard
// and phone). A move is an ordinary versioned edit, so a stale card gets the conflict message.
import { api } from '../../api.js';
import { h, icon, mount } from '../../dom.js';
import { t } from '../../i18n.js';
import { formatDate, formatMoney, formatNumber } from '../../format.js';
import { session } from '../../session.js';
import { emptyState, errorState, errorText, loading, toast } from '../../ui.js';
import { can, loadMeta } from '../../meta.js';
import { openRecordForm } from '../records/form.js';

const money = (amount, record) => formatMoney(amount, record?.currency || session.user?.company?.currency || 'CNY');

async function move(card, stageId, reload) {
  try {
    await api('PATCH', `/opportunities/${card.id}`, { stage_id: stageId, version: card.version });
    toast(t('board.moved', { name: card.name }));
  } catch (error) {
    toast(error.code === 'version_conflict' ? t('records.conflict') : errorText(error), 'error');
  }
  reload();
}

function cardView(item, columns, editable, reload) {
  const picker = h('select', { class: 'input input-sm', 'aria-label': t('board.move_to', { name: item.name }), disabled: !editable, on: {
    change: () => move(item, Number(picker.value), reload),
  } }, columns.map((c) => h('option', { value: c.stage_id, selected: c.stage_id === item.stage_id }, c.name)));
  return h('article', { class: 'board-card', draggable: editable ? 'true' : 'false', dataset: { id: item.id }, on: {
    dragstart: (event) => {
      event.dataTransfer.setData('text/plain', String(item.id));
      event.dataTransfer.effectAllowed = 'move';
    },
  } },
  h('a', { class: 'board-card-title', href: `#/opportunities/${item.id}` }, item.name),
  item.display?.customer_id ? h('div', { class: 'muted' }, item.display.customer_id) : null,
  h('div', { class: 'board-card-facts' },
    h('strong', {}, money(item.amount, item)),
    item.expected_close ? h('span', { class: 'muted' }, formatDate(item.expected_close, { dateStyle: 'medium' })) : null),
  h('div', { class: 'board-card-foot' }, h('span', { class: 'muted' }, item.display?.owner_id || ''), picker));
}

function columnView(column, columns, editable, reload) {
  const items = column.items;
  const body = h('div', { class: 'board-column-body' },
    items.length ? items.map((item) => cardView(item, columns, editable, reload)) : h('p', { class: 'muted board-empty' }, t('board.column_empty')),
    column.count > items.length ? h('a', { class: 'muted', href: `#/opportunities?filter[stage_id]=${column.stage_id}` }, t('board.more', { count: formatNumber(column.count - items.length) })) : null);
  const el = h('section', { class: `board-column board-${column.kind}`, 'aria-label': column.name, on: {
    dragover: (event) => {
      if (!editable) return;
      event.preventDefault();
      el.classList.add('drop-target');
    },
    dragleave: () => el.classList.remove('drop-target'),
    drop: (event) => {
      event.preventDefault();
      el.classList.remove('drop-target');
      const id = Number(event.dataTransfer.getData('text/plain'));
      const card = columns.flatMap((c) => c.items).find((i) => i.id === id);
      if (card && card.stage_id !== column.stage_id) move(card, column.stage_id, reload);
    },
  } },
  h('header', { class: 'board-column-head' },
    h('h2', {}, column.name, ' ', h('span', { class: 'muted' }, `${column.probability}%`)),
    h('div', { class: 'muted' }, t('board.column_total', { count: formatNumber(column.count), amount: money(column.amount) }))),
  body);
  return el;
}

export function boardPage(params, query) {
  document.title = `${t('board.title')} · ${t('app.name')}`;
  const board = h('div', {}, loading());
  const pipelineSelect = h('select', { class: 'input', 'aria-label': t('field.opportunities.pipeline_id') });
  const mine = h('input', { type: 'checkbox', checked: query.mine === '1' });
  const search = h('input', { class: 'input', type: 'search', placeholder: t('board.search'), value: query.q || '' });
  let editable = false;
  const reload = async () => {
    const parts = [];
    if (pipelineSelect.value) parts.push(`pipeline_id=${pipelineSelect.value}`);
    if (mine.checked) parts.push(`filter[owner_id]=${session.user.id}`);
    if (search.value.trim()) parts.push(`q=${encodeURIComponent(search.value.trim())}`);
    try {
      const answer = await api('GET', `/opportunities/board?${parts.join('&')}`);
      const total = answer.columns.reduce((sum, c) => sum + c.count, 0);
      mount(board, total || parts.length > 1 ? h('div', { class: 'board' }, answer.columns.map((c) => columnView(c, answer.columns, editable, reload)))
        : emptyState('board', t('board.empty')));
    } catch (error) {
      mount(board, errorState(error, reload));
    }
  };
  Promise.all([loadMeta(), api('GET', '/pipelines')]).then(([meta, pipelines]) => {
    const entity = meta.get('opportunities');
    editable = can(entity, 'edit');
    mount(pipelineSelect, pipelines.items.map((p) => h('option', { value: p.id }, p.name)));
    pipelineSelect.hidden = pipelines.items.length < 2;
    if (can(entity, 'create')) {
      add.hidden = false;
      add.addEventListener('click', () => openRecordForm(entity, null, { onSaved: reload }));
    }
    reload();
  }).catch((error) => mount(board, errorState(error)));
  let timer = null;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(reload, 300);
  });
  pipelineSelect.addEventListener('change', reload);
  mine.addEventListener('change', reload);
  const add = h('button', { class: 'btn btn-primary', type: 'button', hidden: true }, icon('plus'), t('records.new', { entity: t('entity_one.opportunities') }));
  return h('div', { class: 'page page-wide' },
    h('header', { class: 'page-header with-actions' },
      h('h1', {}, t('board.title')),
      h('div', { class: 'toolbar' },
        pipelineSelect, search,
        h('label', { class: 'check' }, mine, h('span', {}, t('board.mine'))),
        h('a', { class: 'btn', href: '#/opportunities' }, icon('columns'), t('board.as_list')),
        add)),
    h('p', { class: 'muted' }, t('board.hint')),
    board);
}
