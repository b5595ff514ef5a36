// What the record page and "My approvals" share about an approval: its steps with each
// approver's decision, the buttons of whoever's turn it is (approve in one tap; reject with a
// reason; hand on to a colleague), and the count of approvals waiting for me on the menu.
import { api } from './api.js';
import { h, icon } from './dom.js';
import { t } from './i18n.js';
import { formatDateTime } from './format.js';
import { liveCount } from './counts.js';
import { session } from './session.js';
import { badge, createForm, errorText, openDialog, toast } from './ui.js';

/** The number of approvals waiting for me, for the menu. */
export const approvalCount = liveCount(() => api('GET', '/approvals?box=waiting&per_page=1').then((a) => a.waiting), ['approval_']);

const STATUS_KIND = { pending: 'info', approved: 'ok', rejected: 'danger', withdrawn: 'neutral' };

export function statusBadge(instance) {
  return badge(t(`approvals.status.${instance.status}`), STATUS_KIND[instance.status] || 'neutral');
}

/** The steps, in order: who was asked, what each decided and said, and when. An administrator
 * may hand a colleague's waiting turn on (`onDone` redraws after). */
export function approvalSteps(instance, onDone) {
  const reassign = (task) => (instance.can_reassign && task.status === 'waiting' && task.approver_id !== session.user.id
    ? h('button', { class: 'btn btn-small', type: 'button', on: { click: () => transferDialog(instance, onDone, task).catch((error) => toast(errorText(error), 'error')) } }, t('approvals.reassign'))
    : null);
  return h('ol', { class: 'approval-steps' }, instance.steps.map((step, index) => h('li', { class: `approval-step step-${step.status}` },
    h('div', { class: 'approval-step-head' },
      h('strong', {}, step.name || t('approvals.step_n', { n: index + 1 })),
      h('span', { class: 'muted' }, ` · ${t(`approvals.mode.${step.mode}`)}`),
      ' ', badge(t(`approvals.step_status.${step.status}`), step.status === 'approved' ? 'ok' : step.status === 'rejected' ? 'danger' : step.status === 'current' ? 'info' : 'neutral')),
    h('ul', { class: 'approval-tasks' }, step.tasks.map((task) => h('li', {},
      h('span', {}, task.approver), ' ',
      h('span', { class: 'muted' }, t(`approvals.task.${task.status}`, { to: task.transferred_to_name || '' })),
      task.acted_at ? h('span', { class: 'muted' }, ` · ${formatDateTime(task.acted_at)}`) : null,
      ' ', reassign(task),
      task.comment ? h('p', { class: 'approval-comment' }, task.comment) : null))))));
}

function reasonDialog(instance, onDone) {
  const form = createForm({
    fields: [{ name: 'comment', label: t('approvals.reason'), type: 'textarea', required: true, maxlength: 1000, rows: 3 }],
    submitLabel: t('approvals.reject'),
    async onSubmit(values) {
      const answer = await api('POST', `/approvals/${instance.id}/reject`, { comment: values.comment });
      dialog.close();
      toast(t('approvals.rejected_toast'));
      onDone(answer);
    },
  });
  const dialog = openDialog(t('approvals.reject_title', { title: instance.title }), form.el);
}

/** Hands on the caller's turn, or (`from`, an administrator's reassignment) a colleague's. */
async function transferDialog(instance, onDone, from = null) {
  const people = await api('GET', '/directory?per_page=200');
  const form = createForm({
    fields: [
      { name: 'user_id', label: t('approvals.transfer_to'), type: 'select', required: true, options: [['', '—'], ...people.items.map((p) => [p.id, p.department_name ? `${p.display_name} · ${p.department_name}` : p.display_name])] },
      { name: 'comment', label: t('approvals.comment'), type: 'textarea', maxlength: 1000, rows: 2 },
    ],
    submitLabel: t('approvals.transfer'),
    async onSubmit(values) {
      const body = { user_id: Number(values.user_id) || null, comment: values.comment || null };
      if (from) body.from_user_id = from.approver_id;
      const answer = await api('POST', `/approvals/${instance.id}/transfer`, body);
      dialog.close();
      toast(t('approvals.transferred_toast'));
      onDone(answer);
    },
  });
  const title = from ? t('approvals.reassign_title', { name: from.approver, title: instance.title }) : t('approvals.transfer_title', { title: instance.title });
  const dialog = openDialog(title, form.el);
}

/** The buttons of the caller's turn, or of the submitter's withdrawal. */
export function decisionButtons(instance, onDone) {
  const done = (answer) => { approvalCount.refresh(); onDone(answer); };
  const run = (button, action) => async () => {
    button.disabled = true;
    try {
      await action();
    } catch (error) {
      toast(errorText(error), 'error');
    } finally {
      button.disabled = false;
    }
  };
  const buttons = [];
  if (instance.my_turn) {
    const approve = h('button', { class: 'btn btn-primary', type: 'button' }, icon('check'), t('approvals.approve'));
    approve.addEventListener('click', run(approve, async () => {
      const answer = await api('POST', `/approvals/${instance.id}/approve`, {});
      toast(t('approvals.approved_toast'));
      done(answer);
    }));
    const reject = h('button', { class: 'btn btn-danger-outline', type: 'button', on: { click: () => reasonDialog(instance, done) } }, icon('close'), t('approvals.reject'));
    const transfer = h('button', { class: 'btn', type: 'button' }, icon('user'), t('approvals.transfer'));
    transfer.addEventListener('click', run(transfer, () => transferDialog(instance, done)));
    buttons.push(approve, reject, transfer);
  }
  if (instance.can_withdraw) {
    const withdraw = h('button', { class: 'btn', type: 'button' }, t('approvals.withdraw'));
    withdraw.addEventListener('click', run(withdraw, async () => {
      const answer = await api('POST', `/approvals/${instance.id}/withdraw`, {});
      toast(t('approvals.withdrawn_toast'));
      done(answer);
    }));
    buttons.push(withdraw);
  }
  return buttons.length ? h('div', { class: 'approval-actions' }, buttons) : null;
}

/** A line under an approval's title: who submitted it, when, and where it stands. */
export function approvalLine(instance) {
  const step = instance.steps[instance.current_step];
  const where = instance.status === 'pending' && step
    ? t('approvals.at_step', { step: step.name || t('approvals.step_n', { n: instance.current_step + 1 }), n: instance.current_step + 1, of: instance.steps.length })
    : t(`approvals.status.${instance.status}`);
  return t('approvals.line', { who: instance.submitter || '—', when: formatDateTime(instance.submitted_at), where });
}
