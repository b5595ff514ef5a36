// The comments of a record (every entity has them): the conversation, oldest first, and a box
// to write in. Typing @ and a few letters offers colleagues; the chosen are mentioned (and
// notified) as long as their @name stays in the text.
import { api } from '../../api.js';
import { h, icon, mount } from '../../dom.js';
import { t } from '../../i18n.js';
import { formatDateTime } from '../../format.js';
import { onNotifications } from '../../notifications.js';
import { confirmAction, emptyState, errorState, errorText, loading, pager, toast } from '../../ui.js';

/** The @word being typed just before the caret, if any: its start and the letters so far. */
function mentionAt(text, caret) {
  const match = /(^|\s)@([^\s@]{0,30})$/.exec(text.slice(0, caret));
  return match ? { start: caret - match[2].length - 1, query: match[2] } : null;
}

/** A comment's text with its mentions set apart (as text nodes: a comment is never HTML). */
function rendered(comment) {
  const names = comment.mentions.map((m) => `@${m.display_name}`).sort((a, b) => b.length - a.length);
  if (!names.length) return comment.body;
  const escaped = names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return comment.body.split(new RegExp(`(${escaped.join('|')})`)).map((part) => (names.includes(part)
    ? h('span', { class: 'mention' }, part)
    : part));
}

/**
 * A text box with the mention picker under it. `value()` is the text, `mentions()` the ids of
 * the chosen colleagues whose @name is still in it.
 */
function composer({ text = '', mentioned = [], submitLabel, onSubmit, onCancel }) {
  const chosen = new Map(mentioned.map((m) => [m.id, m.display_name]));
  const input = h('textarea', { class: 'input', rows: 3, maxlength: 5000, placeholder: t('comments.placeholder'), 'aria-label': t('comments.title') });
  input.value = text;
  const picker = h('ul', { class: 'mention-picker', role: 'listbox', hidden: true });
  const error = h('p', { class: 'field-error', role: 'alert', hidden: true });
  let options = [];
  let active = 0;
  let asked = 0;

  const close = () => { picker.hidden = true; options = []; };
  const choose = (person) => {
    const at = mentionAt(input.value, input.selectionStart);
    if (!at) return close();
    const before = input.value.slice(0, at.start);
    const after = input.value.slice(input.selectionStart);
    input.value = `${before}@${person.display_name} ${after}`;
    const caret = before.length + person.display_name.length + 2;
    input.setSelectionRange(caret, caret);
    chosen.set(person.id, person.display_name);
    close();
    input.focus();
  };
  const drawPicker = () => {
    mount(picker, options.length
      ? options.map((person, index) => h('li', {
        role: 'option', class: index === active ? 'active' : '', 'aria-selected': String(index === active),
        on: { mousedown: (event) => { event.preventDefault(); choose(person); } },
      }, h('strong', {}, person.display_name), person.department_name ? h('span', { class: 'muted' }, ` · ${person.department_name}`) : null))
      : h('li', { class: 'muted' }, t('comments.mention_none')));
    picker.hidden = false;
  };
  const lookUp = async () => {
    const at = mentionAt(input.value, input.selectionStart);
    if (!at) return close();
    const ask = ++asked;
    try {
      const answer = await api('GET', `/directory?per_page=8&q=${encodeURIComponent(at.query)}`);
      if (ask !== asked) return;
      options = answer.items;
      active = 0;
      drawPicker();
    } catch {
      close();
    }
  };
  input.addEventListener('input', lookUp);
  input.addEventListener('blur', () => setTimeout(close, 150));
  input.addEventListener('keydown', (event) => {
    if (picker.hidden || !options.length) {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) form.requestSubmit();
      return;
    }
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      active = (active + (event.key === 'ArrowDown' ? 1 : options.length - 1)) % options.length;
      drawPicker();
    } else if (event.key === 'Enter' || event.key === 'Tab') {
      event.preventDefault();
      choose(options[active]);
    } else if (event.key === 'Escape') {
      event.stopPropagation();
      close();
    }
  });
  const submit = h('button', { class: 'btn btn-primary', type: 'submit' }, submitLabel);
  const form = h('form', { class: 'comment-form', on: { submit: async (event) => {
    event.preventDefault();
    const body = input.value.trim();
    if (!body) return;
    const mentions = [...chosen].filter(([, name]) => body.includes(`@${name}`)).map(([id]) => id);
    submit.disabled = true;
    error.hidden = true;
    try {
      await onSubmit({ body, mentions });
    } catch (failure) {
      error.textContent = Object.values(failure.fields || {})[0] || errorText(failure);
      error.hidden = false;
    } finally {
      submit.disabled = false;
    }
  } } },
  h('div', { class: 'mention-box' }, input, picker), error,
  h('div', { class: 'form-actions' },
    onCancel ? h('button', { class: 'btn', type: 'button', on: { click: onCancel } }, t('common.cancel')) : null,
    submit));
  return { el: form, input };
}

function commentItem(comment, reload) {
  const text = h('p', { class: 'comment-body' }, rendered(comment));
  const item = h('li', { class: 'comment', id: `comment-${comment.id}` });
  const edit = () => {
    const box = composer({
      text: comment.body,
      mentioned: comment.mentions,
      submitLabel: t('common.save'),
      onCancel: () => mount(item, ...parts()),
      async onSubmit(values) {
        await api('PATCH', `/comments/${comment.id}`, values);
        toast(t('common.saved'));
        reload();
      },
    });
    mount(item, box.el);
    box.input.focus();
  };
  const remove = async () => {
    if (!await confirmAction(t('comments.delete'), t('comments.delete_confirm'), t('comments.delete'))) return;
    try {
      await api('DELETE', `/comments/${comment.id}`);
      toast(t('comments.deleted'));
      reload();
    } catch (error) {
      toast(errorText(error), 'error');
    }
  };
  const parts = () => [
    h('div', { class: 'comment-meta' },
      h('span', { class: 'avatar avatar-small', 'aria-hidden': 'true' }, [...(comment.author || '?')][0]),
      h('strong', {}, comment.author || '—'), ' · ',
      h('time', { datetime: comment.created_at }, formatDateTime(comment.created_at)),
      comment.edited_at ? h('span', { class: 'muted' }, ` · ${t('comments.edited')}`) : null,
      h('span', { class: 'comment-actions' },
        comment.can_edit ? h('button', { class: 'icon-button', type: 'button', title: t('comments.edit'), 'aria-label': t('comments.edit'), on: { click: edit } }, icon('edit')) : null,
        comment.can_delete ? h('button', { class: 'icon-button', type: 'button', title: t('comments.delete'), 'aria-label': t('comments.delete'), on: { click: remove } }, icon('trash')) : null)),
    text,
  ];
  mount(item, ...parts());
  return item;
}

/** The comments card for one record. */
export function commentsSection(entity, record) {
  const base = `/${entity.name}/${record.id}/comments`;
  const list = h('div', {}, loading());
  const perPage = 50;
  // The newest page first (a long discussion opens where it stands); the pager goes back.
  let page = null;
  const load = async () => {
    try {
      let answer = await api('GET', `${base}?per_page=${perPage}&page=${page ?? 1}`);
      const last = Math.max(1, Math.ceil(answer.total / perPage));
      if (page === null && last > 1) answer = await api('GET', `${base}?per_page=${perPage}&page=${last}`);
      page = answer.page;
      const reload = () => { page = null; load(); };
      mount(list, answer.items.length
        ? h('div', {}, h('ol', { class: 'comments' }, answer.items.map((c) => commentItem(c, reload))),
          answer.total > perPage ? pager(answer, (to) => { page = to; load(); }) : null)
        : emptyState('chat', t('comments.empty')));
    } catch (error) {
      mount(list, errorState(error, load));
    }
  };
  const box = composer({
    submitLabel: t('comments.send'),
    async onSubmit(values) {
      await api('POST', base, values);
      box.input.value = '';
      page = null;
      load();
    },
  });
  load();
  const section = h('section', { class: 'card', id: 'comments' }, h('h2', { class: 'card-title' }, t('comments.title')), list, box.el);
  // A colleague's answer that mentions the reader shows up here as it arrives.
  const stop = onNotifications(({ notification }) => {
    if (!section.isConnected) {
      stop();
      return;
    }
    if (notification?.entity === entity.name && notification.record_id === record.id) {
      page = null;
      load();
    }
  });
  return section;
}
