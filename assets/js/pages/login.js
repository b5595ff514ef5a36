// Sign-in. Wrong credentials, a frozen account and throttling each get their own message.
import { api } from '../api.js';
import { navigate } from '../router.js';
import { setLanguage, t } from '../i18n.js';
import { preferredLanguage, setUser } from '../session.js';
import { createForm } from '../ui.js';
import { publicFrame } from './public.js';

export function loginPage(params, query, rerender) {
  const form = createForm({
    fields: [
      { name: 'username', label: t('login.username'), required: true, autocomplete: 'username' },
      { name: 'password', label: t('login.password'), type: 'password', required: true, autocomplete: 'current-password' },
    ],
    submitLabel: t('login.submit'),
    busyLabel: t('login.submitting'),
    className: 'form-login',
    validate(values) {
      const errors = {};
      if (!values.username.trim()) errors.username = t('field_error.required');
      if (!values.password) errors.password = t('field_error.required');
      return errors;
    },
    async onSubmit(values) {
      const result = await api('POST', '/auth/login', values);
      setUser(result.user, result.csrf_token);
      await setLanguage(preferredLanguage());
      const next = query.get('next');
      navigate(next && next.startsWith('/') && next !== '/login' ? next : '/', { replace: true });
    },
  });
  setTimeout(() => form.controls.username.input.focus(), 0);
  return publicFrame(t('login.title'), null, form.el, rerender);
}
