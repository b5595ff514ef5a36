// #/settings/company: what setup asked once (name, language, currency, time zone), and how
// dates are written, kept editable by administrators; each change is in the operation log.
import { api } from '../../api.js';
import { h, icon, mount } from '../../dom.js';
import { LANGUAGES, t } from '../../i18n.js';
import { timeZones } from '../../format.js';
import { loadUser } from '../../session.js';
import { card, createForm, errorState, loading, toast } from '../../ui.js';

const CURRENCIES = ['CNY', 'HKD', 'TWD', 'USD', 'EUR', 'JPY', 'GBP', 'SGD'];
const DATE_FORMATS = ['auto', 'YYYY-MM-DD', 'YYYY/MM/DD', 'DD/MM/YYYY', 'MM/DD/YYYY'];

function companyForm(current, rerender) {
  const zones = timeZones();
  const withCurrent = (list, value) => (value && !list.includes(value) ? [value, ...list] : list);
  const form = createForm({
    fields: [
      { name: 'name', label: t('company.name'), value: current.name, required: true, maxlength: 100, autocomplete: 'organization' },
      { name: 'default_language', label: t('company.default_language'), type: 'select', value: current.default_language,
        options: LANGUAGES.map((l) => [l, t(`lang.${l}`)]), hint: t('company.language_hint') },
      { name: 'currency', label: t('company.currency'), type: 'select', value: current.currency,
        options: withCurrent(CURRENCIES, current.currency).map((c) => [c, c]), hint: t('company.currency_hint') },
      { name: 'timezone', label: t('company.timezone'), type: 'select', value: current.timezone,
        options: withCurrent(zones, current.timezone).map((z) => [z, z]), hint: t('company.timezone_hint') },
      { name: 'date_format', label: t('company.date_format'), type: 'select', value: current.date_format,
        options: DATE_FORMATS.map((f) => [f, f === 'auto' ? t('company.date_auto') : f]) },
    ],
    submitLabel: t('common.save'),
    async onSubmit(values) {
      await api('PUT', '/settings/company', values);
      // The shell shows the company's name, zone and date format: read them again.
      await loadUser();
      toast(t('common.saved'));
      rerender();
    },
  });
  return form.el;
}

export function companySettingsPage(params, query, rerender) {
  document.title = `${t('nav.company')} · ${t('app.name')}`;
  const body = h('div', {}, loading());
  const load = async () => {
    try {
      mount(body, card(t('company.title'), companyForm(await api('GET', '/settings/company'), rerender)));
    } catch (error) {
      mount(body, errorState(error, load));
    }
  };
  load();
  return h('div', { class: 'page page-narrow' },
    h('header', { class: 'page-header' }, h('h1', {}, icon('building'), ' ', t('nav.company')), h('p', { class: 'muted' }, t('company.intro'))),
    body);
}
