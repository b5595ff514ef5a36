// #/targets: monthly targets (业绩目标) and attainment. Everyone sees a leaderboard per metric
// for the people (or departments) their scope reaches, computed from real records; an
// administrator also sets the month's targets here.
import { api } from '../../api.js';
import { h, mount } from '../../dom.js';
import { t } from '../../i18n.js';
import { formatMoney, formatNumber } from '../../format.js';
import { session } from '../../session.js';
import { card, createForm, emptyState, errorState, loading, toast } from '../../ui.js';

const METRICS = ['won_amount', 'received_amount', 'new_customers', 'followups'];
const isMoney = (metric) => metric.endsWith('_amount');
const show = (metric, value) => (isMoney(metric) ? formatMoney(value, session.user?.company?.currency || 'CNY') : formatNumber(value));

/** One metric's ranking: who achieved most, with the target and a bar of attainment. */
function leaderboard(metric, rows) {
  const ranked = rows.filter((r) => r.metric === metric && (r.actual || r.target)).sort((a, b) => b.actual - a.actual);
  if (!ranked.length) return card(t(`targets.metric.${metric}`), emptyState('target', t('targets.nothing')));
  return card(t(`targets.metric.${metric}`), h('ol', { class: 'leaderboard' }, ranked.map((row, i) => {
    const fill = h('span', { class: 'bar-fill' });
    fill.style.width = `${Math.min(100, Math.round((row.ratio ?? 0) * 100))}%`;
    return h('li', {},
      h('span', { class: 'leader-rank' }, String(i + 1)),
      h('span', { class: 'leader-name' }, row.name || '—'),
      h('span', { class: 'bar-track', 'aria-hidden': 'true' }, fill),
      h('span', { class: 'leader-figures' }, show(metric, row.actual),
        row.target ? h('span', { class: 'muted' }, ` / ${show(metric, row.target)} · ${formatNumber(Math.round(row.ratio * 100))}%`) : null));
  })));
}

/** The administrator's editor for one person's or department's targets of the month. */
function editor(year, month, items, groups, onSaved) {
  const form = createForm({
    fields: [
      { name: 'group', label: t('targets.who'), type: 'select', required: true, value: '', options: [['', '—'], ...groups] },
      ...METRICS.map((metric) => ({ name: metric, label: t(`targets.metric.${metric}`) + (isMoney(metric) ? ` (${t('targets.yuan')})` : ''), type: 'number', min: 0, step: isMoney(metric) ? 0.01 : 1, value: '' })),
    ],
    submitLabel: t('common.save'),
    validate(values) {
      return values.group ? {} : { group: t('field_error.required') };
    },
    async onSubmit(values) {
      const [kind, id] = values.group.split(':');
      const key = kind === 'user' ? 'user_id' : 'department_id';
      const entry = { [key]: Number(id), month };
      for (const metric of METRICS) entry[metric] = Math.round(Number(values[metric] || 0) * (isMoney(metric) ? 100 : 1));
      const others = items.filter((item) => !(item.month === month && item[key] === Number(id)));
      await api('PUT', `/targets?year=${year}`, { items: [...others, entry] });
      toast(t('common.saved'));
      onSaved();
    },
  });
  form.controls.group.input.addEventListener('change', () => {
    const [kind, id] = form.controls.group.input.value.split(':');
    const key = kind === 'user' ? 'user_id' : 'department_id';
    const current = items.find((item) => item.month === month && item[key] === Number(id));
    for (const metric of METRICS) {
      const value = current?.[metric] ?? '';
      form.controls[metric].input.value = value === '' ? '' : value / (isMoney(metric) ? 100 : 1);
    }
  });
  return card(t('targets.set', { month: `${year}-${String(month).padStart(2, '0')}` }), form.el);
}

export function targetsPage() {
  document.title = `${t('nav.targets')} · ${t('app.name')}`;
  const now = new Date();
  const year = h('input', { class: 'input', type: 'number', min: 2000, max: 2100, value: now.getFullYear(), 'aria-label': t('targets.year') });
  const month = h('select', { class: 'input', 'aria-label': t('targets.month') },
    Array.from({ length: 12 }, (_, i) => h('option', { value: i + 1, selected: i === now.getMonth() }, t('targets.month_n', { n: i + 1 }))));
  const groupBy = h('select', { class: 'input', 'aria-label': t('targets.group_by') },
    h('option', { value: 'user' }, t('targets.by_user')), h('option', { value: 'department' }, t('targets.by_department')));
  const body = h('div', {}, loading());
  const load = async () => {
    mount(body, loading());
    const y = Number(year.value);
    const m = Number(month.value);
    try {
      const [attainment, targets] = await Promise.all([
        api('GET', `/targets/attainment?year=${y}&month=${m}&group_by=${groupBy.value}`),
        api('GET', `/targets?year=${y}`),
      ]);
      const boards = h('div', { class: 'grid' }, METRICS.map((metric) => leaderboard(metric, attainment.rows)));
      if (!session.user.is_admin) {
        mount(body, boards);
        return;
      }
      const [people, departments] = await Promise.all([api('GET', '/directory?per_page=200'), api('GET', '/departments')]);
      const groups = [
        ...people.items.map((u) => [`user:${u.id}`, u.display_name]),
        ...departments.items.map((d) => [`department:${d.id}`, `${t('targets.department')}: ${d.name}`]),
      ];
      mount(body, boards, editor(y, m, targets.items, groups, load));
    } catch (error) {
      mount(body, errorState(error, load));
    }
  };
  for (const control of [year, month, groupBy]) control.addEventListener('change', load);
  load();
  return h('div', { class: 'page' },
    h('header', { class: 'page-header' }, h('h1', {}, t('nav.targets')),
      h('div', { class: 'toolbar' }, year, month, groupBy)),
    h('p', { class: 'muted' }, t('targets.hint')),
    body);
}
