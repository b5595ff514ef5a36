// Own preferences (#/me): profile, email (which notifications, the daily digest), language,
// theme, font size, time zone, password.
import { api } from '../api.js';
import { h, icon, mount } from '../dom.js';
import { LANGUAGES, t } from '../i18n.js';
import { formatDateTime, timeZones } from '../format.js';
import { savePreferences, session } from '../session.js';
import { card, confirmAction, createForm, errorText, loadInto, table, toast } from '../ui.js';

/** The kinds of notification that may also come by email (the server's NOTIFICATION_KINDS). */
const EMAIL_KINDS = ['mention', 'approval_waiting', 'approval_approved', 'approval_rejected', 'approval_withdrawn', 'announcement', 'webhook_disabled'];

export function mePage(params, query, rerender) {
  const user = session.user;
  document.title = `${t('me.title')} · ${t('app.name')}`;

  const profile = createForm({
    fields: [
      { name: 'username', label: t('me.username'), value: user.username, readonly: true },
      { name: 'display_name', label: t('me.display_name'), value: user.display_name, required: true, maxlength: 100 },
    ],
    submitLabel: t('common.save'),
    validate: (values) => (values.display_name.trim() ? {} : { display_name: t('field_error.required') }),
    async onSubmit(values) {
      await savePreferences({ display_name: values.display_name });
      toast(t('common.saved'));
      rerender();
    },
  });

  const companyZone = user.company?.timezone || 'Asia/Shanghai';
  const appearance = createForm({
    fields: [
      { name: 'language', label: t('me.language'), type: 'select', value: user.language || '', options: LANGUAGES.map((l) => [l, t(`lang.${l}`)]) },
      { name: 'theme', label: t('me.theme'), type: 'select', value: user.theme, options: [['light', t('shell.theme_light')], ['dark', t('shell.theme_dark')]] },
      { name: 'font_size', label: t('me.font_size'), type: 'select', value: user.font_size, options: ['small', 'medium', 'large'].map((s) => [s, t(`shell.font_${s}`)]) },
      { name: 'timezone', label: t('me.timezone'), type: 'select', value: user.timezone || '',
        options: [['', t('me.timezone_company', { zone: companyZone })], ...timeZones().map((z) => [z, z])] },
    ],
    submitLabel: t('common.save'),
    async onSubmit(values) {
      await savePreferences({ ...values, timezone: values.timezone || null });
      toast(t('common.saved'));
      rerender();
    },
  });

  const password = createForm({
    fields: [
      { name: 'current_password', label: t('me.current_password'), type: 'password', required: true, autocomplete: 'current-password' },
      { name: 'new_password', label: t('me.new_password'), type: 'password', required: true, autocomplete: 'new-password', hint: t('setup.password_hint') },
      { name: 'confirm', label: t('me.confirm_password'), type: 'password', required: true, autocomplete: 'new-password' },
    ],
    submitLabel: t('me.change_password'),
    validate(values) {
      const errors = {};
      if (!values.current_password) errors.current_password = t('field_error.required');
      if (values.new_password.length < 8) errors.new_password = t('field_error.too_short', { min: 8 });
      if (values.confirm !== values.new_password) errors.confirm = t('field_error.mismatch');
      return errors;
    },
    async onSubmit(values) {
      await api('POST', '/auth/password', { current_password: values.current_password, new_password: values.new_password });
      Object.values(password.controls).forEach((c) => { c.input.value = ''; });
      toast(t('me.password_changed'));
    },
  });

  const hours = Array.from({ length: 24 }, (_, hour) => [hour, t('me.digest_at', { hour: String(hour).padStart(2, '0') })]);
  const mail = createForm({
    fields: [
      { name: 'email', label: t('me.email'), type: 'email', value: user.email || '', maxlength: 254, hint: t('me.email_hint') },
      { name: 'email_kinds', label: t('me.email_kinds'), type: 'checkboxes', value: user.email_kinds || [],
        options: EMAIL_KINDS.map((kind) => [kind, t(`me.email_kind.${kind}`)]) },
      { name: 'digest_hour', label: t('me.digest'), type: 'select', value: user.digest_hour ?? '', options: [['', t('me.digest_off')], ...hours] },
    ],
    submitLabel: t('common.save'),
    async onSubmit(values) {
      await savePreferences({
        email: values.email.trim() || null,
        email_kinds: values.email_kinds,
        digest_hour: values.digest_hour === '' ? null : Number(values.digest_hour),
      });
      toast(t('common.saved'));
      rerender();
    },
  });

  return h('div', { class: 'page page-narrow' },
    h('header', { class: 'page-header' }, h('h1', {}, t('me.title'))),
    card(t('me.profile'), profile.el),
    card(t('me.mail'), mail.el),
    card(t('me.appearance'), appearance.el),
    card(t('me.password'), password.el),
    tokensCard());
}

/** API tokens for integrations: created here, shown once, revocable. */
function tokensCard() {
  const list = h('div');
  const revealed = h('div');
  const refresh = () => loadInto(list, () => api('GET', '/tokens'), (answer) => table([
    { label: t('tokens.name'), cell: (k) => [h('strong', {}, k.name), h('span', { class: 'cell-sub' }, `${k.prefix}…`)] },
    { label: t('tokens.created'), cell: (k) => formatDateTime(k.created_at) },
    { label: t('tokens.last_used'), cell: (k) => (k.last_used_at ? formatDateTime(k.last_used_at) : t('tokens.never_used')) },
    { label: t('common.actions'), className: 'actions', cell: (k) => h('button', { class: 'btn', type: 'button', on: { click: () => revoke(k) } }, t('tokens.revoke')) },
  ], answer.items, t('tokens.empty')));
  const revoke = async (token) => {
    if (!(await confirmAction(t('tokens.revoke'), t('tokens.revoke_confirm', { name: token.name }), t('tokens.revoke')))) return;
    try {
      await api('DELETE', `/tokens/${token.id}`);
      mount(revealed);
      refresh();
    } catch (error) {
      toast(errorText(error), 'error');
    }
  };
  const form = createForm({
    fields: [{ name: 'name', label: t('tokens.new_name'), required: true, maxlength: 60, hint: t('tokens.hint') }],
    submitLabel: t('tokens.create'),
    validate: (values) => (values.name.trim() ? {} : { name: t('field_error.required') }),
    async onSubmit(values) {
      const created = await api('POST', '/tokens', { name: values.name.trim() });
      form.controls.name.input.value = '';
      const code = h('code', {}, created.token);
      mount(revealed, h('div', { class: 'banner' }, h('p', {}, t('tokens.shown_once')),
        h('div', { class: 'secret' }, icon('key'), code,
          h('button', { class: 'btn', type: 'button', on: { click: async () => {
            await navigator.clipboard?.writeText(created.token);
            toast(t('tokens.copied'));
          } } }, t('tokens.copy')))));
      refresh();
    },
  });
  refresh();
  return card(t('tokens.title'), h('p', { class: 'muted' }, t('tokens.intro')), revealed, list, form.el);
}
