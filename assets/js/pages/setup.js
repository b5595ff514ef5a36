// First run: the company and its first administrator.
import { api } from '../api.js';
import { navigate } from '../router.js';
import { LANGUAGES, language, setLanguage, t } from '../i18n.js';
import { browserTimeZone, timeZones } from '../format.js';
import { session, setUser } from '../session.js';
import { createForm } from '../ui.js';
import { publicFrame } from './public.js';

export function setupPage(params, query, rerender) {
  const zones = timeZones();
  const zone = zones.includes(browserTimeZone()) ? browserTimeZone() : 'Asia/Shanghai';
  const form = createForm({
    fields: [
      { name: 'company', label: t('setup.company'), required: true, autocomplete: 'organization', maxlength: 100 },
      { name: 'username', label: t('setup.username'), required: true, autocomplete: 'username', maxlength: 64 },
      { name: 'display_name', label: t('setup.display_name'), autocomplete: 'name', maxlength: 100 },
      { name: 'password', label: t('setup.password'), type: 'password', required: true, autocomplete: 'new-password', hint: t('setup.password_hint') },
      { name: 'confirm', label: t('setup.confirm'), type: 'password', required: true, autocomplete: 'new-password' },
      { name: 'language', label: t('setup.language'), type: 'select', value: language(), options: LANGUAGES.map((l) => [l, t(`lang.${l}`)]) },
      { name: 'timezone', label: t('setup.timezone'), type: 'select', value: zone, options: zones.map((z) => [z, z]) },
    ],
    submitLabel: t('setup.submit'),
    busyLabel: t('setup.submitting'),
    validate(values) {
      const errors = {};
      for (const name of ['company', 'username', 'password']) {
        if (!values[name].trim()) errors[name] = t('field_error.required');
      }
      if (values.password && values.password.length < 8) errors.password = t('field_error.too_short', { min: 8 });
      if (values.confirm !== values.password) errors.confirm = t('field_error.mismatch');
      return errors;
    },
    async onSubmit(values) {
      const { confirm, ...body } = values;
      const result = await api('POST', '/setup', body);
      session.setupNeeded = false;
      setUser(result.user, result.csrf_token);
      await setLanguage(result.user.language || values.language);
      navigate('/', { replace: true });
    },
  });
  return publicFrame(t('setup.title'), t('setup.intro'), form.el, rerender);
}
