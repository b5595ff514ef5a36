// The approval card of a record whose entity takes part in approval flows: where its latest
// approval stands, step by step, the buttons of whoever's turn it is, and "Submit for approval"
// when the record may be submitted. While an approval runs, the record is locked.
import { api } from '../../api.js';
import { h, icon } from '../../dom.js';
import { t } from '../../i18n.js';
import { session } from '../../session.js';
import { approvalCount, approvalLine, approvalSteps, decisionButtons, statusBadge } from '../../approvals.js';
import { createForm, emptyState, openDialog, toast } from '../../ui.js';

/** The record's approval state (`GET /{entity}/{id}/approval`), or null for other entities. */
export function loadApproval(entity, id) {
  return entity.capabilities?.includes('approval') ? api('GET', `/${entity.name}/${id}/approval`) : Promise.resolve(null);
}

export function isLocked(approval) {
  return approval?.instance?.status === 'pending';
}

function submitDialog(entity, record, refresh) {
  const form = createForm({
    fields: [{ name: 'comment', label: t('approvals.comment'), type: 'textarea', maxlength: 1000, rows: 3, hint: t('approvals.submit_hint') }],
    submitLabel: t('approvals.submit'),
    async onSubmit(values) {
      await api('POST', `/${entity.name}/${record.id}/approval`, { comment: values.comment || null });
      dialog.close();
      toast(t('approvals.submitted_toast'));
      approvalCount.refresh();
      refresh();
    },
  });
  const dialog = openDialog(t('approvals.submit_title', { title: record[entity.title_field] ?? `#${record.id}` }), form.el);
}

export function approvalSection(entity, record, approval, refresh) {
  if (!approval) return null;
  const { instance } = approval;
  const submit = approval.can_submit
    ? h('button', { class: 'btn btn-primary', type: 'button', on: { click: () => submitDialog(entity, record, refresh) } }, icon('check'), t(instance ? 'approvals.resubmit' : 'approvals.submit'))
    : null;
  let body;
  if (instance) {
    body = h('div', { class: 'approval' },
      h('div', { class: 'approval-head' }, statusBadge(instance), h('span', { class: 'muted' }, approvalLine(instance))),
      instance.comment ? h('p', { class: 'approval-comment' }, instance.comment) : null,
      approvalSteps(instance, refresh),
      decisionButtons(instance, refresh));
  } else if (!approval.has_flow) {
    body = h('p', { class: 'muted' }, t('approvals.no_flow', { entity: entity.label_one }),
      session.user.is_admin ? h('a', { href: '#/settings/approvals' }, ` ${t('approvals.design')}`) : null);
  } else {
    body = emptyState('task', t('approvals.not_submitted'));
  }
  return h('section', { class: 'card', id: 'approval' },
    h('div', { class: 'card-head' }, h('h2', { class: 'card-title' }, t('approvals.card')), submit),
    isLocked(approval) ? h('p', { class: 'hint' }, icon('lock'), t('approvals.locked_hint')) : null,
    body);
}
