// #/approvals: My approvals 我的审批. Three boxes: waiting for me, done by me, submitted by me.
// Each item says what it is (record, amount, submitter, step) and, when it is my turn, carries
// the buttons to decide right there: one tap approves, which is what a manager on the train
// needs from a phone.
import { api } from '../api.js';
import { h, mount } from '../dom.js';
import { t } from '../i18n.js';
import { display, loadMeta, recordPath } from '../meta.js';
import { approvalCount, approvalLine, approvalSteps, decisionButtons, statusBadge } from '../approvals.js';
import { emptyState, errorState, loading, pager } from '../ui.js';

const BOXES = ['waiting', 'done', 'submitted'];

function item(meta, instance, reload) {
  const entity = meta.get(instance.entity);
  const details = h('details', { class: 'approval-details' }, h('summary', {}, t('approvals.show_steps')), approvalSteps(instance, reload));
  return h('li', { class: 'approval-item card', dataset: { instance: instance.id } },
    h('div', { class: 'approval-item-head' },
      h('div', {},
        h('p', { class: 'eyebrow' }, entity?.label_one ?? instance.entity),
        h('a', { class: 'approval-title', href: `#${recordPath(instance.entity, instance.record_id)}` }, instance.title)),
      statusBadge(instance)),
    instance.amount !== null && entity ? h('p', { class: 'approval-amount' }, display(entity, 'amount', { amount: instance.amount, currency: instance.currency, display: {} })) : null,
    h('p', { class: 'muted' }, approvalLine(instance)),
    instance.comment ? h('p', { class: 'approval-comment' }, instance.comment) : null,
    details,
    decisionButtons(instance, reload));
}

export function approvalsPage(params, query) {
  document.title = `${t('approvals.title')} · ${t('app.name')}`;
  let box = BOXES.includes(query.get('box')) ? query.get('box') : 'waiting';
  let page = 1;
  const body = h('div', {}, loading());
  const tabs = h('div', { class: 'tabs', role: 'group', 'aria-label': t('approvals.title') });
  let counts = null;
  const drawTabs = () => mount(tabs, BOXES.map((name) => h('button', {
    class: `chip ${box === name ? 'active' : ''}`, type: 'button', 'aria-pressed': String(box === name),
    on: { click: () => { box = name; page = 1; drawTabs(); load(); } },
  }, name === 'waiting' && counts ? t('approvals.box.waiting_count', { count: counts }) : t(`approvals.box.${name}`))));
  const load = async () => {
    try {
      const [meta, answer] = await Promise.all([loadMeta(), api('GET', `/approvals?box=${box}&page=${page}`)]);
      counts = answer.waiting;
      drawTabs();
      approvalCount.refresh();
      mount(body, answer.items.length
        ? h('div', {}, h('ul', { class: 'approval-list' }, answer.items.map((i) => item(meta, i, load))), pager(answer, (to) => { page = to; load(); }))
        : emptyState('stamp', t(`approvals.empty.${box}`)));
    } catch (error) {
      mount(body, errorState(error, load));
    }
  };
  drawTabs();
  load();
  return h('div', { class: 'page page-narrow' },
    h('header', { class: 'page-header' }, h('h1', {}, t('approvals.title'))),
    tabs,
    body);
}
