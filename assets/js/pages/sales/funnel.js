// #/sales: the sales funnel (销售漏斗) and the weighted forecast (销售预测), both over the
// viewer's own scope. The funnel shows, per stage, the deals in it now and how many ever got
// that far, with the conversion from the stage before; the forecast sums open deals by the
// month they are expected to close, at face value and weighted by probability.
import { api } from '../../api.js';
import { h, mount } from '../../dom.js';
import { t } from '../../i18n.js';
import { formatMoney, formatNumber } from '../../format.js';
import { session } from '../../session.js';
import { card, emptyState, errorState, loading, table } from '../../ui.js';
import { barChart } from '../../chart.js';

const money = (amount) => formatMoney(amount, session.user?.company?.currency || 'CNY');
const percent = (part, whole) => (whole ? `${formatNumber(Math.round((part / whole) * 100))}%` : '—');

function funnelChart(stages) {
  const widest = Math.max(1, ...stages.map((s) => s.reached));
  return h('ol', { class: 'funnel', 'aria-label': t('funnel.title') }, stages.map((stage, i) => {
    const bar = h('div', { class: `funnel-bar funnel-${stage.kind}` },
      h('strong', {}, stage.name), ' ', h('span', {}, t('funnel.reached', { count: formatNumber(stage.reached) })));
    bar.style.width = `${Math.max(18, (stage.reached / widest) * 100)}%`;
    const previous = stages[i - 1];
    return h('li', {}, bar,
      h('div', { class: 'funnel-facts muted' },
        t('funnel.now', { count: formatNumber(stage.count), amount: money(stage.amount) }),
        previous && stage.kind !== 'lost' ? ` · ${t('funnel.conversion', { percent: percent(stage.reached, previous.reached) })}` : ''));
  }));
}

function forecastView(rows, groupBy) {
  if (!rows.length) return emptyState('chart', t('forecast.empty'));
  const months = [...new Set(rows.map((r) => r.month))].sort();
  const byMonth = months.map((month) => {
    const inMonth = rows.filter((r) => r.month === month);
    const weighted = inMonth.reduce((sum, r) => sum + r.weighted, 0);
    return { label: month, value: weighted, text: money(weighted) };
  });
  return h('div', {},
    barChart(byMonth, { caption: t('forecast.chart') }),
    table([
      { label: t('forecast.month'), cell: (r) => r.month },
      { label: t(groupBy === 'department' ? 'field.common.department_id' : 'field.common.owner_id'), cell: (r) => r.group_name || '—' },
      { label: t('forecast.amount'), cell: (r) => money(r.amount), className: 'num' },
      { label: t('forecast.weighted'), cell: (r) => money(r.weighted), className: 'num' },
    ], rows, t('forecast.empty')));
}

/** A date input with its label. */
function dateField(label, value) {
  const input = h('input', { class: 'input', type: 'date', value });
  return [h('label', { class: 'field' }, h('span', {}, label), input), input];
}

export function salesAnalyticsPage() {
  document.title = `${t('nav.sales_analytics')} · ${t('app.name')}`;
  const funnelBody = h('div', {}, loading());
  const forecastBody = h('div', {}, loading());
  const pipeline = h('select', { class: 'input', 'aria-label': t('field.opportunities.pipeline_id') });
  const [fromField, from] = dateField(t('funnel.from'), '');
  const [toField, to] = dateField(t('funnel.to'), '');
  const groupBy = h('select', { class: 'input', 'aria-label': t('forecast.group_by') },
    h('option', { value: 'owner' }, t('field.common.owner_id')),
    h('option', { value: 'department' }, t('field.common.department_id')));
  const range = () => [from.value && `from=${from.value}`, to.value && `to=${to.value}`].filter(Boolean);
  const loadFunnel = async () => {
    mount(funnelBody, loading());
    try {
      const answer = await api('GET', `/opportunities/funnel?${[`pipeline_id=${pipeline.value}`, ...range()].join('&')}`);
      mount(funnelBody, answer.stages.some((s) => s.reached || s.count) ? funnelChart(answer.stages) : emptyState('funnel', t('funnel.empty')));
    } catch (error) {
      mount(funnelBody, errorState(error, loadFunnel));
    }
  };
  const loadForecast = async () => {
    mount(forecastBody, loading());
    try {
      const answer = await api('GET', `/forecast?${[`group_by=${groupBy.value}`, ...range()].join('&')}`);
      mount(forecastBody, forecastView(answer.rows, groupBy.value));
    } catch (error) {
      mount(forecastBody, errorState(error, loadForecast));
    }
  };
  api('GET', '/pipelines').then((answer) => {
    mount(pipeline, answer.items.map((p) => h('option', { value: p.id }, p.name)));
    pipeline.hidden = answer.items.length < 2;
    loadFunnel();
  }).catch((error) => mount(funnelBody, errorState(error)));
  loadForecast();
  pipeline.addEventListener('change', loadFunnel);
  for (const input of [from, to]) input.addEventListener('change', () => { loadFunnel(); loadForecast(); });
  groupBy.addEventListener('change', loadForecast);
  return h('div', { class: 'page' },
    h('header', { class: 'page-header' }, h('h1', {}, t('nav.sales_analytics')),
      h('div', { class: 'toolbar' }, pipeline, fromField, toField)),
    card(t('funnel.title'), h('p', { class: 'muted' }, t('funnel.hint')), funnelBody),
    card(t('forecast.title'), h('div', { class: 'toolbar' }, groupBy), h('p', { class: 'muted' }, t('forecast.hint')), forecastBody));
}
