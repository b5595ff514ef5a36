// #/settings/automation: automation rules (自动化规则) for administrators. A rule says when
// (a record is created or changed, a date approaches, days pass without a follow-up), under
// which conditions, and what then happens (assign an owner, notify people, create a task, set
// a field, call a webhook). Each rule shows how its runs went and keeps a run log.
import { api } from '../../api.js';
import { h, icon, mount } from '../../dom.js';
import { t } from '../../i18n.js';
import { formatDateTime, formatNumber } from '../../format.js';
import { loadMeta } from '../../meta.js';
import { conditionEditor, conditionFields, conditionText, select, valueInput, valueText } from '../../conditions.js';
import { actionButton, badge, confirmAction, emptyState, errorState, errorText, loading, openDialog, table, toast } from '../../ui.js';

const TRIGGERS = ['created', 'updated', 'date_approaches', 'no_followup'];
const ACTIONS = ['assign', 'notify', 'task', 'set_field', 'webhook'];
const TIMED = ['date_approaches', 'no_followup'];

const dateFields = (entity) => entity.fields.filter((f) => ['date', 'datetime'].includes(f.type) && !f.hidden && !f.custom);
const settable = (entity) => entity.fields.filter((f) => !f.system && !f.hidden && f.type !== 'lines');
const fieldOf = (entity, name) => entity.fields.find((f) => f.name === name);
/** `control` with a name, so a form's parts can be told apart (and found by tests). */
const named = (control, name) => Object.assign(control, { name });
const number = (attrs) => h('input', { class: 'input input-short', type: 'number', min: 0, max: 365, step: 1, ...attrs });

function triggerText(entity, trigger) {
  const field = trigger.field ? (fieldOf(entity, trigger.field)?.label ?? trigger.field) : '';
  if (trigger.on === 'updated' && trigger.field && trigger.to !== undefined) {
    return t('automation.when.updated_to', { field, value: valueText(fieldOf(entity, trigger.field), trigger.to) });
  }
  if (trigger.on === 'updated' && trigger.field) return t('automation.when.updated_field', { field });
  return t(`automation.when.${trigger.on}`, { field, days: formatNumber(trigger.days ?? 0), entity: entity.label });
}

function actionText(entity, action, lookups) {
  const person = (id) => lookups.people.get(id) ?? `#${id}`;
  switch (action.kind) {
    case 'assign':
      return action.user_id ? t('automation.do.assign_user', { user: person(action.user_id) })
        : t('automation.do.assign_department', { department: lookups.departments.get(action.department_id) ?? `#${action.department_id}` });
    case 'notify': {
      const who = [action.owner ? t('automation.owner') : null, ...(action.user_ids ?? []).map(person),
        action.role_id ? lookups.roles.get(action.role_id) : null].filter(Boolean).join('、');
      return t('automation.do.notify', { who, message: action.message });
    }
    case 'task':
      return t('automation.do.task', { title: action.title, days: formatNumber(action.due_in_days ?? 0), who: action.user_id ? person(action.user_id) : t('automation.owner') });
    case 'set_field': {
      const field = fieldOf(entity, action.field);
      return t('automation.do.set_field', { field: field?.label ?? action.field, value: valueText(field, action.value) });
    }
    default:
      return t('automation.do.webhook', { name: lookups.webhooks.get(action.webhook_id)?.name ?? `#${action.webhook_id}` });
  }
}

/** The trigger's controls for `entity`, and `value()` the trigger. */
function triggerEditor(entity, trigger) {
  const on = named(select(TRIGGERS.map((k) => [k, t(`automation.trigger.${k}`)]), trigger?.on ?? 'created', t('automation.trigger_label')), 'trigger');
  const fields = conditionFields(entity);
  const watched = select([['', t('automation.any_field')], ...fields.map((f) => [f.name, f.label])], trigger?.field ?? '', t('flows.field'));
  const toWanted = h('input', { type: 'checkbox', class: 'checkbox', checked: trigger?.to !== undefined, 'aria-label': t('automation.becomes') });
  const toSlot = h('span', { class: 'flow-value' });
  let to;
  const dated = dateFields(entity);
  const dateField = select(dated.map((f) => [f.name, f.label]), trigger?.field, t('flows.field'));
  const days = number({ value: trigger?.days ?? 7, 'aria-label': t('automation.days') });
  const details = h('div', { class: 'flow-condition' });
  const drawTo = (initial) => {
    to = valueInput(fieldOf(entity, watched.value), initial);
    mount(toSlot, toWanted.checked && watched.value ? to.el : null);
  };
  const draw = () => {
    const parts = {
      created: [],
      updated: [watched, watched.value ? h('label', { class: 'check' }, toWanted, h('span', {}, t('automation.becomes'))) : null, toSlot],
      date_approaches: dated.length ? [days, h('span', {}, t('automation.days_before')), dateField] : [h('span', { class: 'muted' }, t('automation.no_dates'))],
      no_followup: [days, h('span', {}, t('automation.days_without'))],
    }[on.value];
    mount(details, parts);
  };
  on.addEventListener('change', draw);
  watched.addEventListener('change', () => { drawTo(null); draw(); });
  toWanted.addEventListener('change', () => drawTo(null));
  drawTo(trigger?.to);
  draw();
  return {
    el: h('div', { class: 'automation-trigger' }, on, details),
    value() {
      const value = { on: on.value };
      if (on.value === 'updated' && watched.value) {
        value.field = watched.value;
        if (toWanted.checked) value.to = to.read();
      }
      if (on.value === 'date_approaches') value.field = dateField.value;
      if (TIMED.includes(on.value)) value.days = Number(days.value);
      return value;
    },
  };
}

function peopleChecks(lookups, chosen) {
  const picked = new Set(chosen ?? []);
  return h('div', { class: 'checks flow-people' }, [...lookups.people].map(([id, label]) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', value: id, checked: picked.has(id) }), h('span', {}, label))));
}

const checked = (box) => [...box.querySelectorAll('input:checked')].map((b) => Number(b.value));

/** One action's controls; `value()` the action as the API takes it. */
function actionEditor(entity, action, lookups, remove) {
  const kinds = ACTIONS.filter((k) => (k !== 'assign' || entity.owned) && (k !== 'task' || lookups.taskAbout.includes(entity.name)));
  const kind = named(select(kinds.map((k) => [k, t(`automation.action.${k}`)]), action?.kind ?? kinds[0], t('automation.action_label')), 'kind');
  const body = h('div', { class: 'automation-action-body' });
  const error = h('p', { class: 'field-error', role: 'alert', hidden: true });
  let read = () => ({});
  const people = [...lookups.people];
  const personSelect = (value, withOwner) => select([...(withOwner ? [['', t('automation.owner')]] : []), ...people], value ?? '', t('automation.who'));
  const draw = (initial) => {
    const a = initial?.kind === kind.value ? initial : {};
    if (kind.value === 'assign') {
      const byDepartment = h('input', { type: 'checkbox', class: 'checkbox', checked: Boolean(a.department_id) });
      const user = personSelect(a.user_id, false);
      const department = select([...lookups.departments], a.department_id, t('automation.department'));
      const slot = h('span', {});
      const redraw = () => mount(slot, byDepartment.checked ? department : user);
      byDepartment.addEventListener('change', redraw);
      redraw();
      mount(body, [slot, h('label', { class: 'check' }, byDepartment, h('span', {}, t('automation.in_turn')))]);
      read = () => (byDepartment.checked ? { department_id: Number(department.value) } : { user_id: Number(user.value) });
    } else if (kind.value === 'notify') {
      const owner = h('input', { type: 'checkbox', class: 'checkbox', checked: a.owner ?? true });
      const role = select([['', t('automation.no_role')], ...lookups.roles], a.role_id ?? '', t('flows.kind.role'));
      const colleagues = peopleChecks(lookups, a.user_ids);
      const message = h('textarea', { class: 'input', name: 'message', rows: 2, maxlength: 500, 'aria-label': t('automation.message'), placeholder: t('automation.message') });
      message.value = a.message ?? '';
      mount(body, [h('label', { class: 'check' }, owner, h('span', {}, t('automation.owner'))), role, colleagues, message]);
      read = () => ({ owner: owner.checked, user_ids: checked(colleagues), ...(role.value ? { role_id: Number(role.value) } : {}), message: message.value });
    } else if (kind.value === 'task') {
      const title = h('input', { class: 'input', maxlength: 200, value: a.title ?? '', placeholder: t('automation.task_title'), 'aria-label': t('automation.task_title') });
      const due = number({ value: a.due_in_days ?? 1, 'aria-label': t('automation.due_in_days') });
      const who = personSelect(a.user_id, true);
      mount(body, [title, h('span', {}, t('automation.due_in')), due, h('span', {}, t('automation.days_unit')), who]);
      read = () => ({ title: title.value, due_in_days: Number(due.value), ...(who.value ? { user_id: Number(who.value) } : {}) });
    } else if (kind.value === 'set_field') {
      const fields = settable(entity);
      const field = select(fields.map((f) => [f.name, f.label]), a.field, t('flows.field'));
      const slot = h('span', { class: 'flow-value' });
      let value;
      const redraw = (start) => { value = valueInput(fieldOf(entity, field.value), start); mount(slot, value.el); };
      field.addEventListener('change', () => redraw(null));
      redraw(a.value);
      mount(body, [field, h('span', {}, '='), slot]);
      read = () => ({ field: field.value, value: value.read() });
    } else {
      const hooks = [...lookups.webhooks.values()].filter((w) => w.entity === entity.name);
      const hook = select(hooks.map((w) => [w.id, w.name]), a.webhook_id, t('nav.webhooks'));
      mount(body, hooks.length ? hook : h('p', { class: 'muted' }, t('automation.no_webhooks')));
      read = () => ({ webhook_id: Number(hook.value) });
    }
  };
  kind.addEventListener('change', () => draw(null));
  draw(action);
  const el = h('li', { class: 'flow-step card' },
    h('div', { class: 'flow-step-head' }, kind,
      h('button', { class: 'icon-button', type: 'button', 'aria-label': t('automation.remove_action'), on: { click: remove } }, icon('trash'))),
    body, error);
  return {
    el,
    showError(message) { error.hidden = !message; error.textContent = message || ''; },
    value: () => ({ kind: kind.value, ...read() }),
  };
}

/** A list of rows the person adds to and removes from; `make(initial, remove)` builds one. */
function rowList(initial, make, addLabel) {
  const list = h('ol', { class: 'flow-steps' });
  let rows = [];
  const draw = () => mount(list, rows.map((r) => r.el));
  const add = (value) => {
    const row = make(value, () => { rows = rows.filter((r) => r !== row); draw(); });
    rows.push(row);
  };
  initial.forEach(add);
  draw();
  return {
    el: h('div', {}, list, h('button', { class: 'btn', type: 'button', on: { click: () => { add(null); draw(); } } }, icon('plus'), addLabel)),
    rows: () => rows,
  };
}

function conditionRow(entity) {
  return (initial, remove) => {
    const editor = conditionEditor(entity, initial);
    return {
      el: h('li', { class: 'flow-condition-row' }, editor.el,
        h('button', { class: 'icon-button', type: 'button', 'aria-label': t('automation.remove_condition'), on: { click: remove } }, icon('trash'))),
      value: editor.value,
    };
  };
}

/** The rule editor, in a dialog: a new rule (`rule` null) or a change to one. */
function ruleDialog(meta, rule, lookups, reload) {
  const entities = [...meta.values()];
  const name = h('input', { class: 'input', name: 'name', maxlength: 100, value: rule?.name ?? '', 'aria-label': t('automation.name'), placeholder: t('automation.name') });
  const entitySelect = named(select(entities.map((e) => [e.name, e.label]), rule?.entity ?? 'customers', t('webhooks.entity')), 'entity');
  const design = h('div', {});
  const banner = h('p', { class: 'banner banner-error', role: 'alert', hidden: true });
  let editors;
  const draw = (start) => {
    const entity = meta.get(entitySelect.value);
    const trigger = triggerEditor(entity, start?.trigger);
    const conditions = rowList(start?.conditions ?? [], conditionRow(entity), t('automation.add_condition'));
    const actions = rowList(start?.actions ?? [null], (initial, remove) => actionEditor(entity, initial, lookups, remove), t('automation.add_action'));
    editors = { trigger, conditions, actions };
    mount(design, [
      h('h3', {}, t('automation.step_when')), trigger.el,
      h('h3', {}, t('automation.step_if')), h('p', { class: 'muted' }, t('automation.if_hint')), conditions.el,
      h('h3', {}, t('automation.step_then')), actions.el,
    ]);
  };
  entitySelect.addEventListener('change', () => draw(null));
  draw(rule);
  const save = h('button', { class: 'btn btn-primary', type: 'submit' }, icon('check'), t('common.save'));
  const form = h('form', { class: 'form automation-editor', novalidate: true },
    h('label', { class: 'field' }, h('span', { class: 'field-label' }, t('automation.name')), name),
    h('label', { class: 'field' }, h('span', { class: 'field-label' }, t('webhooks.entity')), entitySelect),
    design, banner,
    h('div', { class: 'form-actions' }, h('button', { class: 'btn', type: 'button', on: { click: () => dialog.close() } }, t('common.cancel')), save));
  const dialog = openDialog(t(rule ? 'automation.edit' : 'automation.new'), form);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    save.disabled = true;
    banner.hidden = true;
    editors.actions.rows().forEach((r) => r.showError(''));
    const body = {
      name: name.value,
      entity: entitySelect.value,
      trigger: editors.trigger.value(),
      conditions: editors.conditions.rows().map((r) => r.value()).filter(Boolean),
      actions: editors.actions.rows().map((r) => r.value()),
    };
    try {
      await api(rule ? 'PATCH' : 'POST', rule ? `/automation-rules/${rule.id}` : '/automation-rules', rule ? { ...body, version: rule.version } : body);
      dialog.close();
      toast(t('automation.saved'));
      reload();
    } catch (error) {
      banner.textContent = errorText(error);
      banner.hidden = false;
      for (const [key, message] of Object.entries(error.fields || {})) {
        const index = /^actions\.(\d+)/.exec(key)?.[1];
        if (index !== undefined) editors.actions.rows()[Number(index)]?.showError(message);
      }
    } finally {
      save.disabled = false;
    }
  });
}

async function showRuns(rule, entity) {
  const body = h('div', {}, loading());
  openDialog(t('automation.log_title', { name: rule.name }), body);
  try {
    const answer = await api('GET', `/automation-rules/${rule.id}/runs?per_page=50`);
    const kinds = { done: 'ok', failed: 'danger', depth_limit: 'warning' };
    mount(body, table([
      { label: t('webhooks.when'), cell: (r) => formatDateTime(r.created_at) },
      { label: t('automation.record'), cell: (r) => h('a', { href: `#/${r.entity}/${r.record_id}` }, `${entity?.label ?? r.entity} #${r.record_id}`) },
      { label: t('automation.trigger_label'), cell: (r) => t(`automation.trigger.${r.event}`) },
      { label: t('webhooks.status'), cell: (r) => badge(t(`automation.status.${r.status}`), kinds[r.status]) },
      { label: t('automation.did'), cell: (r) => [r.actions.map((a) => t(`automation.action.${a.kind}`)).join('、') || '—',
        r.error ? h('span', { class: 'cell-sub' }, r.error.message) : null] },
    ], answer.items, t('automation.log_empty')));
  } catch (error) {
    mount(body, errorState(error));
  }
}

function ruleCard(meta, rule, lookups, reload) {
  const entity = meta.get(rule.entity);
  const act = (label, action) => actionButton(label, action, reload);
  const conditions = rule.conditions.map((c) => conditionText(entity, c)).join(t('automation.and'));
  return h('section', { class: 'card', dataset: { rule: rule.id } },
    h('div', { class: 'card-head' },
      h('h2', { class: 'card-title' }, rule.name, ' ', badge(entity?.label ?? rule.entity, 'info'), ' ',
        rule.active ? null : badge(t('automation.off'), 'neutral'))),
    h('p', {}, h('strong', {}, t('automation.step_when')), ' ', triggerText(entity, rule.trigger)),
    conditions ? h('p', {}, h('strong', {}, t('automation.step_if')), ' ', conditions) : null,
    h('ul', { class: 'automation-actions' }, rule.actions.map((a) => h('li', {}, actionText(entity, a, lookups)))),
    h('p', { class: 'muted' }, t('automation.counts', { done: formatNumber(rule.runs.done), not_done: formatNumber(rule.runs.not_done) }),
      rule.last_run_at ? ` · ${t('automation.last_run', { when: formatDateTime(rule.last_run_at) })}` : '',
      ` · ${t('automation.runs_as', { name: rule.author.name || '—' })}`),
    rule.author.active ? null : h('div', { class: 'banner banner-error', dataset: { authorGone: rule.id } },
      h('p', {}, t('automation.author_gone', { name: rule.author.name || '—' })),
      act(t('automation.take_over'), () => api('PATCH', `/automation-rules/${rule.id}`, { take_over: true, version: rule.version }))),
    h('div', { class: 'header-actions' },
      h('button', { class: 'btn', type: 'button', on: { click: () => ruleDialog(meta, rule, lookups, reload) } }, icon('edit'), t('common.edit')),
      h('button', { class: 'btn', type: 'button', on: { click: () => showRuns(rule, entity) } }, icon('log'), t('automation.log')),
      TIMED.includes(rule.trigger.on) ? act(t('automation.run_now'), async () => {
        const answer = await api('POST', `/automation-rules/${rule.id}/run`, {});
        toast(t('automation.fired', { count: formatNumber(answer.fired) }));
      }) : null,
      act(t(rule.active ? 'webhooks.switch_off' : 'webhooks.switch_on'), () => api('PATCH', `/automation-rules/${rule.id}`, { active: !rule.active, version: rule.version })),
      act(t('common.delete'), async () => {
        if (await confirmAction(t('automation.delete'), t('automation.delete_confirm', { name: rule.name }), t('common.delete'))) await api('DELETE', `/automation-rules/${rule.id}`);
      })));
}

export function automationPage() {
  document.title = `${t('nav.automation')} · ${t('app.name')}`;
  const body = h('div', {}, loading());
  const add = h('button', { class: 'btn btn-primary', type: 'button' }, icon('plus'), t('automation.new'));
  const intro = h('p', { class: 'muted' }, t('automation.intro'));
  const load = async () => {
    try {
      const [meta, rules, roles, people, departments, webhooks] = await Promise.all([
        loadMeta(), api('GET', '/automation-rules'), api('GET', '/roles'), api('GET', '/directory?per_page=200'),
        api('GET', '/departments'), api('GET', '/webhooks'),
      ]);
      const lookups = {
        roles: new Map(roles.items.map((r) => [r.id, r.builtin ? t(`role.${r.builtin}`) : r.name])),
        people: new Map(people.items.map((p) => [p.id, p.department_name ? `${p.display_name} · ${p.department_name}` : p.display_name])),
        departments: new Map(departments.items.map((d) => [d.id, d.name])),
        webhooks: new Map(webhooks.items.map((w) => [w.id, w])),
        // The records a task may be about, as the tasks entity links them.
        taskAbout: meta.get('tasks')?.link?.entities ?? [],
      };
      add.onclick = () => ruleDialog(meta, null, lookups, load);
      intro.textContent = `${t('automation.intro')} ${t('automation.depth', { depth: formatNumber(rules.depth_max) })}`;
      const cards = rules.items.filter((r) => meta.get(r.entity)).map((rule) => ruleCard(meta, rule, lookups, load));
      mount(body, cards.length ? cards : emptyState('task', t('automation.empty')));
    } catch (error) {
      mount(body, errorState(error, load));
    }
  };
  load();
  return h('div', { class: 'page page-narrow' },
    h('header', { class: 'page-header with-actions' }, h('h1', {}, t('nav.automation')), h('div', { class: 'header-actions' }, add)),
    intro,
    body);
}
