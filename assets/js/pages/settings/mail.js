// #/settings/mail: the company's own SMTP server (host, port, STARTTLS / TLS / none, sign-in,
// sender), a test mail, and the outgoing queue: what waits, what failed and why.
import { api } from '../../api.js';
import { h, icon, mount } from '../../dom.js';
import { t } from '../../i18n.js';
import { formatNumber } from '../../format.js';
import { session } from '../../session.js';
import { card, createForm, errorState, loading, toast } from '../../ui.js';

function settingsForm(current, redraw) {
  const s = current.settings;
  const form = createForm({
    fields: [
      { name: 'host', label: t('mail.host'), value: s.host, required: true, maxlength: 255, placeholder: 'smtp.example.com' },
      { name: 'port', label: t('mail.port'), type: 'number', value: s.port || 587, required: true, min: 1, max: 65535, step: 1 },
      { name: 'security', label: t('mail.security'), type: 'select', value: s.security || 'starttls',
        options: ['starttls', 'tls', 'none'].map((v) => [v, t(`mail.security_${v}`)]) },
      { name: 'username', label: t('mail.username'), value: s.username, maxlength: 255, autocomplete: 'off' },
      { name: 'password', label: t('mail.password'), type: 'password', maxlength: 255, autocomplete: 'new-password',
        hint: s.password_set ? t('mail.password_kept') : t('mail.password_hint') },
      { name: 'from_address', label: t('mail.from_address'), type: 'email', value: s.from_address, required: true, maxlength: 255 },
      { name: 'from_name', label: t('mail.from_name'), value: s.from_name, maxlength: 255 },
    ],
    submitLabel: t('common.save'),
    async onSubmit(values) {
      const body = { ...values, port: Number(values.port) };
      if (!values.password) delete body.password;
      await api('PUT', '/settings/mail', body);
      toast(t('mail.saved'));
      redraw();
    },
  });
  return form.el;
}

function testForm() {
  const form = createForm({
    fields: [{ name: 'to', label: t('mail.test_to'), type: 'email', value: session.user.email || '', required: true, maxlength: 255 }],
    submitLabel: t('mail.send_test'),
    async onSubmit(values) {
      await api('POST', '/settings/mail/test', { to: values.to });
      toast(t('mail.test_sent', { to: values.to }));
    },
  });
  return form.el;
}

function queueFacts(queue) {
  return h('div', {},
    h('dl', { class: 'facts' },
      h('dt', {}, t('mail.waiting')), h('dd', {}, formatNumber(queue.waiting)),
      h('dt', {}, t('mail.sent')), h('dd', {}, formatNumber(queue.sent)),
      h('dt', {}, t('mail.failed')), h('dd', {}, formatNumber(queue.failed))),
    queue.last_error ? h('p', { class: 'banner banner-error' }, t('mail.last_error', { error: queue.last_error })) : null,
    h('p', { class: 'muted' }, t('mail.queue_hint')));
}

export function mailSettingsPage() {
  document.title = `${t('nav.mail')} · ${t('app.name')}`;
  const body = h('div', {}, loading());
  const draw = async () => {
    try {
      const current = await api('GET', '/settings/mail');
      mount(body,
        card(t('mail.server'), settingsForm(current, draw)),
        current.configured ? card(t('mail.test'), testForm()) : null,
        card(t('mail.queue'), queueFacts(current.queue)));
    } catch (error) {
      mount(body, errorState(error, draw));
    }
  };
  draw();
  return h('div', { class: 'page page-narrow' },
    h('header', { class: 'page-header' }, h('h1', {}, icon('chat'), ' ', t('nav.mail')), h('p', { class: 'muted' }, t('mail.intro'))),
    body);
}
