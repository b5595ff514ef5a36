// #/settings/approvals: the approval flow designer (审批流程) for administrators. One flow per
// record type that takes part in approvals; a flow is ordered steps, each approved by a role,
// the submitter's department head n levels up, or named colleagues, by any one or by all, and
// optionally only when a field meets a condition (amount above 100,000 → finance too).
// Approvals already running keep the flow they started with.
import { api } from '../../api.js';
import { h, icon, mount } from '../../dom.js';
import { t } from '../../i18n.js';
import { conditionEditor, conditionText, select } from '../../conditions.js';
import { loadMeta } from '../../meta.js';
import { badge, confirmAction, emptyState, errorState, errorText, loading, toast } from '../../ui.js';

const KINDS = ['head', 'role', 'users'];

/** Who a step names, in words, for the flow's summary. */
function approverText(step, lookups) {
  const { approver } = step;
  if (approver.kind === 'head') return t('flows.head_levels', { levels: approver.levels });
  if (approver.kind === 'role') return t('flows.role_named', { role: lookups.roles.get(approver.role_id) ?? `#${approver.role_id}` });
  return approver.user_ids.map((id) => lookups.people.get(id) ?? `#${id}`).join('、');
}

function summary(entity, flow, lookups) {
  if (!flow.steps) return h('p', { class: 'muted' }, t('flows.none'));
  return h('ol', { class: 'flow-summary' }, flow.steps.map((step, i) => h('li', {},
    h('strong', {}, step.name || t('approvals.step_n', { n: i + 1 })), ': ', approverText(step, lookups),
    ' · ', t(`approvals.mode.${step.mode || 'any'}`),
    step.condition ? h('span', { class: 'muted' }, ` · ${conditionText(entity, step.condition)}`) : null)));
}

/** The editor of one step: its controls, and `value()` the step as the API takes it. */
function stepEditor(entity, step, lookups, moves) {
  const name = h('input', { class: 'input', maxlength: 60, value: step.name ?? '', placeholder: t('flows.step_name'), 'aria-label': t('flows.step_name') });
  const kind = select(KINDS.map((k) => [k, t(`flows.kind.${k}`)]), step.approver.kind, t('flows.approver'));
  const levels = select([1, 2, 3, 4, 5].map((n) => [n, t('flows.levels_n', { n })]), step.approver.levels ?? 1, t('flows.levels'));
  const role = select([...lookups.roles].map(([id, label]) => [id, label]), step.approver.role_id, t('flows.kind.role'));
  const chosen = new Set(step.approver.user_ids ?? []);
  const people = h('div', { class: 'checks flow-people' }, [...lookups.people].map(([id, label]) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', value: id, checked: chosen.has(id) }), h('span', {}, label))));
  const mode = select(['any', 'all'].map((m) => [m, t(`approvals.mode.${m}`)]), step.mode || 'any', t('flows.mode'));
  const conditional = h('input', { type: 'checkbox', class: 'checkbox', checked: Boolean(step.condition), 'aria-label': t('flows.only_when') });
  const condition = conditionEditor(entity, step.condition);
  const conditionRow = condition.el;
  const who = h('div', { class: 'flow-who' });
  const drawWho = () => {
    mount(who, { head: levels, role, users: people }[kind.value]);
    conditionRow.hidden = !conditional.checked;
  };
  kind.addEventListener('change', drawWho);
  conditional.addEventListener('change', drawWho);
  drawWho();
  const error = h('p', { class: 'field-error', role: 'alert', hidden: true });
  const el = h('li', { class: 'flow-step card' },
    h('div', { class: 'flow-step-head' }, name,
      h('div', { class: 'flow-step-moves' },
        h('button', { class: 'icon-button', type: 'button', 'aria-label': t('flows.move_up'), on: { click: moves.up } }, icon('up')),
        h('button', { class: 'icon-button', type: 'button', 'aria-label': t('flows.move_down'), on: { click: moves.down } }, icon('down')),
        h('button', { class: 'icon-button', type: 'button', 'aria-label': t('flows.remove_step'), on: { click: moves.remove } }, icon('trash')))),
    h('div', { class: 'flow-row' }, h('label', {}, t('flows.approver')), kind, who),
    h('div', { class: 'flow-row' }, h('label', {}, t('flows.mode')), mode),
    h('label', { class: 'check' }, conditional, h('span', {}, t('flows.only_when'))),
    conditionRow,
    error);
  return {
    el,
    showError(message) { error.hidden = !message; error.textContent = message || ''; },
    value() {
      const approver = { kind: kind.value };
      if (kind.value === 'head') approver.levels = Number(levels.value);
      if (kind.value === 'role') approver.role_id = Number(role.value);
      if (kind.value === 'users') approver.user_ids = [...people.querySelectorAll('input:checked')].map((b) => Number(b.value));
      const result = { approver, mode: mode.value };
      if (name.value.trim()) result.name = name.value.trim();
      if (conditional.checked && condition.value()) result.condition = condition.value();
      return result;
    },
  };
}

/** The editor of a flow, in place of its summary; `onDone` redraws the page. */
function flowEditor(entity, flow, lookups, onDone) {
  const list = h('ol', { class: 'flow-steps' });
  const banner = h('p', { class: 'banner banner-error', role: 'alert', hidden: true });
  let editors = [];
  const draw = () => mount(list, editors.map((e) => e.el));
  const add = (step) => {
    const editor = stepEditor(entity, step, lookups, {
      up: () => { const i = editors.indexOf(editor); if (i > 0) { [editors[i - 1], editors[i]] = [editors[i], editors[i - 1]]; draw(); } },
      down: () => { const i = editors.indexOf(editor); if (i < editors.length - 1) { [editors[i + 1], editors[i]] = [editors[i], editors[i + 1]]; draw(); } },
      remove: () => { editors = editors.filter((e) => e !== editor); draw(); },
    });
    editors.push(editor);
  };
  (flow.steps ?? [{ approver: { kind: 'head', levels: 1 }, mode: 'any' }]).forEach(add);
  draw();
  const save = h('button', { class: 'btn btn-primary', type: 'button' }, icon('check'), t('common.save'));
  save.addEventListener('click', async () => {
    save.disabled = true;
    banner.hidden = true;
    editors.forEach((e) => e.showError(''));
    try {
      await api('PUT', `/approval-flows/${entity.name}`, { steps: editors.map((e) => e.value()), version: flow.version ?? undefined });
      toast(t('flows.saved'));
      onDone();
    } catch (error) {
      banner.textContent = errorText(error);
      banner.hidden = false;
      for (const [key, message] of Object.entries(error.fields || {})) {
        const index = /^steps\.(\d+)\./.exec(key)?.[1];
        if (index !== undefined) editors[Number(index)]?.showError(message);
      }
    } finally {
      save.disabled = false;
    }
  });
  return h('div', { class: 'flow-editor' },
    h('p', { class: 'muted' }, t('flows.running_kept')),
    list,
    h('div', { class: 'form-actions' },
      h('button', { class: 'btn', type: 'button', on: { click: () => { add({ approver: { kind: 'role', role_id: [...lookups.roles.keys()][0] }, mode: 'any' }); draw(); } } }, icon('plus'), t('flows.add_step')),
      h('button', { class: 'btn', type: 'button', on: { click: onDone } }, t('common.cancel')),
      save),
    banner);
}

function flowCard(entity, flow, lookups, reload) {
  const body = h('div', {}, summary(entity, flow, lookups));
  const edit = h('button', { class: 'btn', type: 'button', on: { click: () => mount(body, flowEditor(entity, flow, lookups, reload)) } }, icon('edit'), t(flow.steps ? 'common.edit' : 'flows.create'));
  const remove = flow.steps && !flow.required
    ? h('button', { class: 'btn btn-danger-outline', type: 'button', on: { click: async () => {
      if (!(await confirmAction(t('flows.remove'), t('flows.remove_confirm', { entity: entity.label }), t('flows.remove')))) return;
      try {
        await api('DELETE', `/approval-flows/${entity.name}`);
        reload();
      } catch (error) {
        toast(errorText(error), 'error');
      }
    } } }, icon('trash'), t('flows.remove'))
    : null;
  return h('section', { class: 'card', dataset: { flow: entity.name } },
    h('div', { class: 'card-head' },
      h('h2', { class: 'card-title' }, entity.label, ' ', flow.required ? badge(t('flows.required'), 'info') : null),
      h('div', { class: 'header-actions' }, edit, remove)),
    body);
}

export function approvalFlowsPage() {
  document.title = `${t('nav.approval_flows')} · ${t('app.name')}`;
  const body = h('div', {}, loading());
  const load = async () => {
    try {
      const [meta, flows, roles, people] = await Promise.all([
        loadMeta(), api('GET', '/approval-flows'), api('GET', '/roles'), api('GET', '/directory?per_page=200'),
      ]);
      const lookups = {
        roles: new Map(roles.items.map((r) => [r.id, r.builtin ? t(`role.${r.builtin}`) : r.name])),
        people: new Map(people.items.map((p) => [p.id, p.department_name ? `${p.display_name} · ${p.department_name}` : p.display_name])),
      };
      const cards = flows.items.map((flow) => [meta.get(flow.entity), flow]).filter(([entity]) => entity)
        .map(([entity, flow]) => flowCard(entity, flow, lookups, load));
      mount(body, cards.length ? cards : emptyState('stamp', t('flows.nothing')));
    } catch (error) {
      mount(body, errorState(error, load));
    }
  };
  load();
  return h('div', { class: 'page' },
    h('header', { class: 'page-header' }, h('h1', {}, t('nav.approval_flows')), h('p', { class: 'muted' }, t('flows.intro'))),
    body);
}
