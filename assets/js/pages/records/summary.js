// The list's chart: how the records the list shows split by a field (a picklist, tags, yes/no,
// owner or department), as counts or as the total of a money or number field. It follows the
// list's search and filters; clicking a bar filters the list to that group.
import { api } from '../../api.js';
import { h, icon, mount } from '../../dom.js';
import { t } from '../../i18n.js';
import { barChart } from '../../chart.js';
import { field, errorState, loading, emptyState } from '../../ui.js';
import { labelOf } from '../../meta.js';
import { formatMoney, formatNumber } from '../../format.js';
import { session } from '../../session.js';

const GROUPABLE = ['picklist', 'multi_picklist', 'tags', 'bool'];
const shownKey = (entity) => `kehu.chart.${session.user.id}.${entity}`;

function groupChoices(entity) {
  const names = entity.fields.filter((f) => GROUPABLE.includes(f.type)).map((f) => f.name);
  if (entity.owned) names.push('owner_id', 'department_id');
  return names;
}

/** The filter that narrows the list to one group. */
function filterFor(entity, groupBy, value) {
  const type = entity.fields.find((f) => f.name === groupBy)?.type;
  if (value === null) return [`filter[${groupBy}][empty]`, 'true'];
  if (type === 'multi_picklist' || type === 'tags') return [`filter[${groupBy}][contains]`, value];
  return [`filter[${groupBy}]`, String(value)];
}

function groupLabel(group) {
  if (group.label !== null && group.label !== undefined) return String(group.label);
  if (typeof group.value === 'boolean') return group.value ? t('common.yes') : t('common.no');
  return group.value === null ? t('chart.none') : String(group.value);
}

/**
 * `listQuery()` gives the list's current parameters; `onPick([key, value])` applies a filter.
 * Returns the toggle button, the panel, and `refresh()` for the list to call after each load.
 */
export function summaryPanel(entity, listQuery, onPick) {
  const choices = groupChoices(entity);
  const sums = entity.fields.filter((f) => f.type === 'money' || f.type === 'integer');
  const panel = h('section', { class: 'card chart-panel', 'aria-label': t('chart.title') });
  const body = h('div', { class: 'chart-body' });
  // The first field the list shows by default is the likeliest to be compared.
  const preferred = choices.find((name) => entity.list_columns.includes(name)) || choices[0];
  const groupBy = field({ name: 'group_by', label: t('chart.group_by'), type: 'select', value: preferred,
    options: choices.map((name) => [name, labelOf(entity, name)]) });
  const measure = field({ name: 'measure', label: t('chart.measure'), type: 'select', value: '',
    options: [['', t('chart.count')], ...sums.map((f) => [f.name, t('chart.sum_of', { field: f.label })])] });
  let shown = localStorage.getItem(shownKey(entity.name)) === '1' && choices.length > 0;
  const toggle = h('button', { class: 'btn', type: 'button', 'aria-pressed': String(shown), on: { click: () => {
    shown = !shown;
    localStorage.setItem(shownKey(entity.name), shown ? '1' : '0');
    toggle.setAttribute('aria-pressed', String(shown));
    refresh();
  } } }, icon('chart'), t('chart.open'));
  const refresh = async () => {
    panel.hidden = !shown;
    if (!shown) return;
    const p = listQuery();
    p.delete('sort');
    p.set('group_by', groupBy.input.value);
    const sum = measure.input.value;
    if (sum) p.set('sum', sum);
    mount(body, loading());
    try {
      const answer = await api('GET', `/${entity.name}/summary?${p}`);
      const currency = session.user?.company?.currency || 'CNY';
      const figure = (g) => (sum ? g.sum : g.count);
      const text = (n) => (sum && sums.find((f) => f.name === sum)?.type === 'money' ? formatMoney(n, currency) : formatNumber(n));
      const rows = answer.groups.map((g) => ({ label: groupLabel(g), value: figure(g), text: text(figure(g)), group: g }));
      if (answer.other) rows.push({ label: t('chart.other'), value: sum ? answer.other.sum : answer.other.count, text: text(sum ? answer.other.sum : answer.other.count), pickable: false });
      mount(body, rows.length
        ? barChart(rows, { onPick: (row) => onPick(filterFor(entity, groupBy.input.value, row.group.value)) })
        : emptyState('inbox', t('records.no_match')));
    } catch (error) {
      mount(body, errorState(error, refresh));
    }
  };
  groupBy.input.addEventListener('change', refresh);
  measure.input.addEventListener('change', refresh);
  mount(panel, h('div', { class: 'chart-controls' }, groupBy.el, sums.length ? measure.el : null), body);
  panel.hidden = true;
  return { toggle: choices.length ? toggle : null, panel, refresh };
}
