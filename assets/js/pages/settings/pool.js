// #/settings/pool: the public pool's rules (公海规则) for administrators: when customers go back
// to the pool, how many one person may hold, and how long before they may claim one back.
import { api } from '../../api.js';
import { h, icon } from '../../dom.js';
import { t } from '../../i18n.js';
import { card, createForm, errorText, loadInto, toast } from '../../ui.js';

const SETTINGS = [
  ['days_without_followup', 3650],
  ['days_without_won', 3650],
  ['max_customers_per_user', 1000000],
  ['reclaim_cooldown_days', 3650],
];

function rulesForm(settings) {
  const form = createForm({
    fields: SETTINGS.map(([name, max]) => ({ name, label: t(`pool.setting.${name}`), type: 'number', value: settings[name], required: true, hint: t(`pool.setting.${name}_hint`), step: 1, max })),
    submitLabel: t('common.save'),
    validate(values) {
      const errors = {};
      for (const [name, max] of SETTINGS) {
        const value = Number(values[name]);
        if (values[name] === '' || !Number.isInteger(value) || value < 0 || value > max) errors[name] = t('field_error.between', { min: 0, max });
      }
      return errors;
    },
    async onSubmit(values) {
      await api('PUT', '/settings/pool', Object.fromEntries(SETTINGS.map(([name]) => [name, Number(values[name])])));
      toast(t('common.saved'));
    },
  });
  return form.el;
}

function applyNow() {
  const result = h('p', { class: 'muted', role: 'status' });
  const button = h('button', { class: 'btn', type: 'button', on: { click: async () => {
    button.disabled = true;
    try {
      const answer = await api('POST', '/settings/pool/apply');
      result.textContent = t('pool.applied', { count: answer.returned });
    } catch (error) {
      toast(errorText(error), 'error');
    } finally {
      button.disabled = false;
    }
  } } }, icon('check'), t('pool.apply_now'));
  return h('div', {}, h('p', { class: 'muted' }, t('pool.apply_hint')), h('div', { class: 'form-actions' }, button), result);
}

export function poolSettingsPage() {
  document.title = `${t('nav.pool_settings')} · ${t('app.name')}`;
  const body = h('div');
  loadInto(body, () => api('GET', '/settings/pool'), (settings) => h('div', {},
    card(t('pool.rules'), rulesForm(settings)),
    card(t('pool.apply_now'), applyNow())));
  return h('div', { class: 'page' },
    h('header', { class: 'page-header' }, h('h1', {}, t('nav.pool_settings')), h('p', { class: 'muted' }, t('pool.settings_intro'))),
    body);
}
