// What the sales records add to the generic record page: converting or disqualifying a lead,
// an opportunity's line items and the stages it went through (with the time spent in each), a
// contract's line items and attached files.
import { api, upload } from '../../api.js';
import { h, icon, mount } from '../../dom.js';
import { t } from '../../i18n.js';
import { navigate } from '../../router.js';
import { formatDateTime, formatNumber } from '../../format.js';
import { badge, card, createForm, emptyState, errorState, errorText, loading, openDialog, toast } from '../../ui.js';
import { can } from '../../meta.js';
import { linesTable } from './lines.js';
import { departmentOptions } from '../settings/departments.js';

/** Buttons beside the record's title. */
export function recordActions(entity, record, refresh) {
  if (entity.name !== 'leads' || !can(entity, 'edit') || ['converted', 'disqualified'].includes(record.status)) return [];
  return [
    h('button', { class: 'btn btn-primary', type: 'button', on: { click: () => convertLead(record) } }, icon('check'), t('leads.convert')),
    h('button', { class: 'btn', type: 'button', on: { click: () => disqualifyLead(record, refresh) } }, icon('close'), t('leads.disqualify')),
  ];
}

/** Sections above the related lists. */
export function recordSections(entity, record) {
  const sections = [];
  if (record.lines?.length) sections.push(card(t('lines.title'), linesTable(record.lines, record.currency)));
  if (entity.name === 'opportunities') sections.push(stageHistory(record));
  sections.push(attachments(entity, record));
  return sections;
}

function convertLead(lead) {
  let customerId = null;
  let confirmDuplicate = false;
  const form = createForm({
    fields: [
      { name: 'create_opportunity', label: t('leads.create_opportunity'), type: 'checkbox', value: true },
      { name: 'name', label: t('field.opportunities.name'), value: lead.company || lead.name, maxlength: 200 },
      { name: 'amount', label: t('leads.amount_yuan'), type: 'number', step: 0.01, min: 0 },
      { name: 'expected_close', label: t('field.opportunities.expected_close'), type: 'date' },
    ],
    submitLabel: t('leads.convert'),
    async onSubmit(values) {
      const body = { create_opportunity: values.create_opportunity };
      if (values.create_opportunity) {
        body.opportunity = { name: values.name.trim() || undefined };
        if (values.amount !== '') body.opportunity.amount = Math.round(Number(values.amount) * 100);
        if (values.expected_close) body.opportunity.expected_close = values.expected_close;
      }
      if (customerId) body.customer_id = customerId;
      if (confirmDuplicate) body.confirm_duplicate = true;
      try {
        const answer = await api('POST', `/leads/${lead.id}/convert`, body);
        dialog.close();
        toast(t('leads.converted', { name: answer.customer.name }));
        navigate(`/customers/${answer.customer.id}`);
      } catch (error) {
        form.el.querySelector('.conflict-actions')?.remove();
        if (error.code === 'duplicate') {
          form.el.querySelector('.banner-error').after(h('div', { class: 'conflict-actions' },
            error.current ? h('button', { class: 'btn btn-primary', type: 'button', on: { click: () => { customerId = error.current.id; form.el.requestSubmit(); } } }, t('leads.use_existing', { name: error.current.name })) : null, ' ',
            h('button', { class: 'btn', type: 'button', on: { click: () => { confirmDuplicate = true; form.el.requestSubmit(); } } }, t('records.save_anyway'))));
        }
        throw error;
      }
    },
  });
  const dialog = openDialog(t('leads.convert_title', { name: lead.name }), h('div', {}, h('p', { class: 'muted' }, t('leads.convert_hint')), form.el));
}

function disqualifyLead(lead, refresh) {
  const form = createForm({
    fields: [{ name: 'reason', label: t('leads.reason'), type: 'textarea', required: true, maxlength: 500, rows: 3 }],
    submitLabel: t('leads.disqualify'),
    async onSubmit(values) {
      await api('POST', `/leads/${lead.id}/disqualify`, { reason: values.reason.trim() });
      dialog.close();
      toast(t('common.saved'));
      refresh();
    },
  });
  const dialog = openDialog(t('leads.disqualify'), form.el);
}

/** Days, hours or minutes, whichever reads best. */
function duration(seconds) {
  if (seconds >= 86400) return t('time.days', { count: formatNumber(Math.floor(seconds / 86400)) });
  if (seconds >= 3600) return t('time.hours', { count: formatNumber(Math.floor(seconds / 3600)) });
  return t('time.minutes', { count: formatNumber(Math.max(1, Math.floor(seconds / 60))) });
}

function stageHistory(record) {
  const body = h('div', {}, loading());
  const load = () => api('GET', `/opportunities/${record.id}/stages`).then((answer) => {
    mount(body, answer.items.length ? h('ol', { class: 'stage-history' }, answer.items.map((item) => h('li', {},
      badge(item.name, item.kind === 'won' ? 'ok' : item.kind === 'lost' ? 'danger' : 'info'),
      h('span', { class: 'muted' }, ` ${formatDateTime(item.entered_at)} · `),
      h('span', {}, item.left_at ? t('stages.spent', { time: duration(item.seconds) }) : t('stages.current', { time: duration(item.seconds) })))))
      : emptyState('log', t('stages.empty')));
  }).catch((error) => mount(body, errorState(error, load)));
  load();
  return card(t('stages.title'), body);
}

function attachments(entity, record) {
  const list = h('div', {}, loading());
  const base = `/${entity.name}/${record.id}/attachments`;
  const load = () => api('GET', base).then((answer) => {
    mount(list, answer.items.length ? h('ul', { class: 'attachments' }, answer.items.map((file) => h('li', {},
      h('a', { href: `/api/v1/attachments/${file.id}`, download: file.name }, icon('file'), ' ', file.name),
      h('span', { class: 'muted' }, ` ${formatNumber(Math.ceil(file.size / 1024))} KB · ${formatDateTime(file.created_at)}${file.created_by ? ` · ${file.created_by}` : ''}`),
      can(entity, 'edit') ? h('button', { class: 'btn btn-icon', type: 'button', title: t('attachments.remove'), 'aria-label': t('attachments.remove'), on: { click: async () => {
        try {
          await api('DELETE', `/attachments/${file.id}`);
          load();
        } catch (error) {
          toast(errorText(error), 'error');
        }
      } } }, icon('trash')) : null)))
      : emptyState('inbox', t('attachments.empty')));
  }).catch((error) => mount(list, errorState(error, load)));
  load();
  const input = h('input', { type: 'file', class: 'visually-hidden', id: `attach-${entity.name}-${record.id}`, on: { change: async () => {
    const file = input.files[0];
    if (!file) return;
    const form = new FormData();
    form.append('file', file);
    try {
      await upload(base, form);
      toast(t('attachments.added', { name: file.name }));
      load();
    } catch (error) {
      toast(errorText(error), 'error');
    } finally {
      input.value = '';
    }
  } } });
  const add = can(entity, 'edit')
    ? h('label', { class: 'btn', for: input.id }, icon('plus'), t('attachments.add'))
    : null;
  return h('section', { class: 'card' },
    h('div', { class: 'card-head' }, h('h2', { class: 'card-title' }, t('attachments.title')), add, input),
    h('p', { class: 'muted' }, t('attachments.limit')),
    list);
}

/**
 * Deals the selected leads in turn to the active members of a department, continuing the
 * rotation where the last round there stopped (`POST /leads/assign`).
 */
export function assignRoundRobin(entity, ids, done) {
  const form = createForm({
    fields: [{ name: 'department_id', label: t('leads.round_robin_department'), type: 'select', required: true, options: [['', '—']] }],
    submitLabel: t('leads.round_robin'),
    async onSubmit(values) {
      const answer = await api('POST', '/leads/assign', { ids, department_id: Number(values.department_id) });
      dialog.close();
      done(answer);
    },
  });
  api('GET', '/departments').then((answer) => {
    mount(form.controls.department_id.input, departmentOptions(answer.items, { none: '—' }).map(([value, label]) => h('option', { value }, label)));
  }).catch((error) => form.showBanner(errorText(error)));
  const dialog = openDialog(t('leads.round_robin_title', { count: ids.length }),
    h('div', {}, h('p', { class: 'muted' }, t('leads.round_robin_hint')), form.el));
}
