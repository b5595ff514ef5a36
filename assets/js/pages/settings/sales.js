// #/settings/pipelines: the company's sales processes (销售流程) — stages in order with their
// default win probability and kind (open, won, lost) — and the contract number pattern.
import { api } from '../../api.js';
import { h, icon, mount } from '../../dom.js';
import { t } from '../../i18n.js';
import { card, createForm, errorText, loadInto, toast } from '../../ui.js';
import { resetMeta } from '../../meta.js';

const KINDS = ['open', 'won', 'lost'];

/** One editable stage row; `value()` gives it as the API takes it. */
function stageRow(stage, rows, redraw) {
  const name = h('input', { class: 'input', value: stage.name ?? '', maxlength: 40, 'aria-label': t('pipelines.stage_name') });
  const probability = h('input', { class: 'input', type: 'number', min: 0, max: 100, step: 1, value: stage.probability ?? 0, 'aria-label': t('pipelines.probability') });
  const kind = h('select', { class: 'input', 'aria-label': t('pipelines.kind') },
    KINDS.map((k) => h('option', { value: k, selected: k === (stage.kind || 'open') }, t(`pipelines.kind.${k}`))));
  const row = {
    value: () => ({ ...(stage.id ? { id: stage.id } : {}), name: name.value.trim(), probability: Number(probability.value), kind: kind.value }),
  };
  const shift = (by) => {
    const at = rows.indexOf(row);
    const to = at + by;
    if (to < 0 || to >= rows.length) return;
    [rows[at], rows[to]] = [rows[to], rows[at]];
    redraw();
  };
  const button = (iconName, label, click) => h('button', { class: 'btn btn-icon', type: 'button', title: label, 'aria-label': label, on: { click } }, icon(iconName));
  row.el = h('tr', {},
    h('td', {}, name), h('td', {}, probability), h('td', {}, kind),
    h('td', { class: 'row-actions' },
      button('up', t('pipelines.up'), () => shift(-1)),
      button('down', t('pipelines.down'), () => shift(1)),
      button('trash', t('pipelines.remove_stage'), () => { rows.splice(rows.indexOf(row), 1); redraw(); })));
  return row;
}

function pipelineCard(pipeline, reload) {
  const rows = [];
  const body = h('tbody');
  const redraw = () => mount(body, rows.map((r) => r.el));
  for (const stage of pipeline?.stages || [{ kind: 'open' }]) rows.push(stageRow(stage, rows, redraw));
  redraw();
  const form = createForm({
    fields: [{ name: 'name', label: t('pipelines.name'), required: true, maxlength: 60, value: pipeline?.name ?? '' }],
    submitLabel: t('common.save'),
    async onSubmit(values) {
      const body = { name: values.name.trim(), stages: rows.map((r) => r.value()) };
      if (pipeline) await api('PUT', `/pipelines/${pipeline.id}`, body);
      else await api('POST', '/pipelines', body);
      resetMeta();
      toast(t('common.saved'));
      reload();
    },
  });
  form.el.querySelector('.form-actions').before(
    h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
      h('thead', {}, h('tr', {}, [t('pipelines.stage_name'), t('pipelines.probability'), t('pipelines.kind'), ''].map((c) => h('th', {}, c)))),
      body)),
    h('button', { class: 'btn', type: 'button', on: { click: () => { rows.push(stageRow({ kind: 'open' }, rows, redraw)); redraw(); } } }, icon('plus'), t('pipelines.add_stage')));
  const remove = pipeline ? h('button', { class: 'btn btn-danger-outline', type: 'button', on: { click: async () => {
    try {
      await api('DELETE', `/pipelines/${pipeline.id}`);
      resetMeta();
      toast(t('common.saved'));
      reload();
    } catch (error) {
      toast(errorText(error), 'error');
    }
  } } }, icon('trash'), t('pipelines.delete')) : null;
  return card(pipeline ? pipeline.name : t('pipelines.new'), form.el, remove);
}

function numberPattern(settings) {
  const example = h('p', { class: 'muted' }, t('pipelines.number_example', { example: settings.example }));
  const form = createForm({
    fields: [{ name: 'number_pattern', label: t('pipelines.number_pattern'), required: true, maxlength: 40, value: settings.number_pattern, hint: t('pipelines.number_hint') }],
    submitLabel: t('common.save'),
    async onSubmit(values) {
      const saved = await api('PUT', '/settings/contracts', { number_pattern: values.number_pattern.trim() });
      example.textContent = t('pipelines.number_example', { example: saved.example });
      toast(t('common.saved'));
    },
  });
  return card(t('pipelines.numbers'), form.el, example);
}

export function pipelinesPage() {
  document.title = `${t('nav.pipelines')} · ${t('app.name')}`;
  const body = h('div');
  const load = () => loadInto(body, () => Promise.all([api('GET', '/pipelines'), api('GET', '/settings/contracts')]),
    ([pipelines, settings]) => h('div', {},
      pipelines.items.map((p) => pipelineCard(p, load)),
      pipelineCard(null, load),
      numberPattern(settings)));
  load();
  return h('div', { class: 'page' },
    h('header', { class: 'page-header' }, h('h1', {}, t('nav.pipelines')), h('p', { class: 'muted' }, t('pipelines.intro'))),
    body);
}
