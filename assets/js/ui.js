// Shared widgets: forms with per-field errors, cards, toasts, and the loading/empty/error states.
import { h, icon, mount } from './dom.js';
import { t } from './i18n.js';
import { formatNumber } from './format.js';

let nextId = 0;
const uid = (prefix) => `${prefix}-${++nextId}`;

/**
 * A labelled control with its hint and error slot. `spec`: {name, label, type ('text',
 * 'password', 'select'), options ([[value, label]]), value, hint, required, autocomplete, readonly}.
 */
export function field(spec) {
  const id = uid(spec.name);
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const common = {
    id,
    name: spec.name,
    required: spec.required,
    readonly: spec.readonly,
    autocomplete: spec.autocomplete,
    'aria-describedby': [spec.hint ? hintId : '', errorId].join(' ').trim(),
  };
  let input;
  let value = () => input.value;
  if (spec.type === 'checkboxes') {
    const chosen = new Set((spec.value || []).map(String));
    const boxes = spec.options.map(([optionValue, label]) => h('label', { class: 'check' },
      h('input', { type: 'checkbox', value: optionValue, checked: chosen.has(String(optionValue)) }), h('span', {}, label)));
    input = h('div', { ...common, class: 'checks', role: 'group', tabindex: '-1' }, boxes);
    value = () => [...input.querySelectorAll('input:checked')].map((box) => box.value);
  } else if (spec.type === 'checkbox') {
    input = h('input', { ...common, type: 'checkbox', class: 'checkbox', checked: Boolean(spec.value) });
    value = () => input.checked;
  } else if (spec.type === 'textarea') {
    input = h('textarea', { ...common, class: 'input', rows: spec.rows || 4, maxlength: spec.maxlength });
    input.value = spec.value ?? '';
  } else if (spec.type === 'select') {
    input = h('select', { ...common, class: 'input' },
      spec.options.map(([value, label]) => h('option', { value, selected: String(value) === String(spec.value ?? '') }, label)));
  } else {
    input = h('input', { ...common, class: 'input', type: spec.type || 'text', value: spec.value ?? '', maxlength: spec.maxlength, step: spec.step, min: spec.min, max: spec.max, placeholder: spec.placeholder });
  }
  const error = h('div', { class: 'field-error', id: errorId, hidden: true });
  const el = h('div', { class: 'field' },
    h('label', { for: id }, spec.label, spec.required ? h('span', { class: 'required', 'aria-hidden': 'true' }, ' *') : null),
    input,
    spec.hint ? h('div', { class: 'hint', id: hintId }, spec.hint) : null,
    error);
  return {
    el,
    input,
    value,
    setError(message) {
      error.hidden = !message;
      error.textContent = message || '';
      if (message) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    },
  };
}

/** A message banner for an error, with the request id of a server failure. */
export function errorText(error) {
  const lines = [error.message || t('error.internal_error')];
  if (error.requestId) lines.push(t('common.request_id', { id: error.requestId }));
  return lines.join(' ');
}

/**
 * A form that shows every field error at once. `validate(values)` returns {field: message} for
 * checks the browser can make; `onSubmit(values)` talks to the server and may throw an ApiError.
 */
export function createForm({ fields, submitLabel, busyLabel, onSubmit, validate, className }) {
  const controls = Object.fromEntries(fields.map((spec) => [spec.name, field(spec)]));
  const banner = h('div', { class: 'banner banner-error', role: 'alert', hidden: true });
  const button = h('button', { class: 'btn btn-primary', type: 'submit' }, submitLabel);
  const values = () => Object.fromEntries(Object.entries(controls).map(([name, c]) => [name, c.value()]));
  const showBanner = (message) => {
    banner.hidden = !message;
    banner.textContent = message || '';
  };
  const clear = () => {
    showBanner('');
    Object.values(controls).forEach((c) => c.setError(''));
  };
  const showErrors = (fieldErrors, message) => {
    let first = null;
    // Errors on parts the form has no control for (a line item's quantity) join the banner.
    const others = [];
    for (const [name, text] of Object.entries(fieldErrors || {})) {
      const control = controls[name];
      if (control) {
        control.setError(text);
        first = first || control;
      } else {
        others.push(text);
      }
    }
    showBanner([message, ...others].filter(Boolean).join(' '));
    (first ? first.input : banner).focus?.();
  };
  const el = h('form', { class: `form ${className || ''}`, novalidate: true, on: {
    submit: async (event) => {
      event.preventDefault();
      clear();
      const current = values();
      const local = validate ? validate(current) : {};
      if (Object.keys(local).length) {
        showErrors(local, '');
        return;
      }
      button.disabled = true;
      button.textContent = busyLabel || t('common.saving');
      try {
        await onSubmit(current);
      } catch (error) {
        showErrors(error.fields, errorText(error));
        if (error.code === 'too_many_attempts' && error.retryAfter) countdown(banner, button, submitLabel, error.retryAfter);
      } finally {
        if (!button.dataset.waiting) {
          button.disabled = false;
          button.textContent = submitLabel;
        }
      }
    },
  } }, banner, fields.map((spec) => controls[spec.name].el), h('div', { class: 'form-actions' }, button));
  banner.tabIndex = -1;
  return { el, controls, values, showErrors, clear, showBanner };
}

/** Keeps the submit button disabled while the server asks us to wait, showing the seconds. */
function countdown(banner, button, label, seconds) {
  let left = seconds;
  button.dataset.waiting = '1';
  button.disabled = true;
  const tick = () => {
    if (left <= 0 || !button.isConnected) {
      delete button.dataset.waiting;
      button.disabled = false;
      button.textContent = label;
      banner.hidden = true;
      return;
    }
    banner.textContent = t('login.wait', { seconds: left });
    left -= 1;
    setTimeout(tick, 1000);
  };
  tick();
}

export function card(title, ...children) {
  return h('section', { class: 'card' }, title ? h('h2', { class: 'card-title' }, title) : null, ...children);
}

export function loading() {
  return h('div', { class: 'state state-loading', role: 'status' }, h('div', { class: 'spinner' }), h('span', {}, t('common.loading')));
}

export function emptyState(iconName, text) {
  return h('div', { class: 'state state-empty' }, icon(iconName), h('p', {}, text));
}

export function errorState(error, retry) {
  return h('div', { class: 'state state-error', role: 'alert' }, icon('alert'),
    h('p', {}, t('common.load_failed'), ' ', errorText(error)),
    retry ? h('button', { class: 'btn', type: 'button', on: { click: retry } }, t('common.retry')) : null);
}

/**
 * Shows `loading()` in `container`, then what `draw(data)` returns once `load()` resolves, or an
 * error state with a retry button.
 */
export function loadInto(container, load, draw) {
  const run = async () => {
    mount(container, loading());
    try {
      const data = await load();
      mount(container, draw(data));
    } catch (error) {
      mount(container, errorState(error, run));
    }
  };
  run();
  return container;
}

export function toast(message, kind = 'ok') {
  const host = document.getElementById('toasts');
  const symbol = { ok: 'check', info: 'bell' }[kind] || 'alert';
  const el = h('div', { class: `toast toast-${kind}`, role: 'status' }, icon(symbol), h('span', {}, message));
  host.append(el);
  // Quick successive saves keep only the latest few on screen.
  while (host.children.length > 3) host.firstElementChild.remove();
  setTimeout(() => el.remove(), 4000);
}

/**
 * A table from column specs {label, cell(row) → node or text, className}. On a phone each row
 * becomes a card, with the column labels shown beside the values.
 */
export function table(columns, rows, emptyText) {
  if (!rows.length) return emptyState('inbox', emptyText);
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.className }, c.label)))),
    h('tbody', {}, rows.map((row) => h('tr', {}, columns.map((c) => h('td', { class: c.className, 'data-label': labelText(c.label) }, h('div', { class: 'cell' }, c.cell(row)))))))));
}

/** A column label as plain text (headers may be sort buttons). */
function labelText(label) {
  return label instanceof Node ? label.textContent.replace(/[▲▼]/g, '').trim() : label;
}

/**
 * Page navigation for a list answer {items, total, total_exact, page, per_page}. A very long
 * list is counted only up to a cap (`total_exact` false): it reads "10,000+" and pages on while
 * pages come back full.
 */
export function pager(answer, goTo) {
  const exact = answer.total_exact !== false;
  const pages = Math.max(1, Math.ceil(answer.total / answer.per_page));
  const last = exact ? answer.page >= pages : (answer.items?.length ?? 0) < answer.per_page;
  const summary = exact
    ? t('list.summary', { total: formatNumber(answer.total), page: answer.page, pages })
    : t('list.summary_more', { total: formatNumber(answer.total), page: answer.page });
  return h('nav', { class: 'pager', 'aria-label': t('list.pages') },
    h('span', { class: 'muted' }, summary),
    h('div', { class: 'pager-buttons' },
      h('button', { class: 'btn', type: 'button', disabled: answer.page <= 1, on: { click: () => goTo(answer.page - 1) } }, t('list.previous')),
      h('button', { class: 'btn', type: 'button', disabled: last, on: { click: () => goTo(answer.page + 1) } }, t('list.next'))));
}

/** A modal dialog; `content` is a node (often a form). Escape and the close button dismiss it. */
export function openDialog(title, content) {
  const dialog = h('dialog', { class: 'dialog', 'aria-label': title },
    h('header', { class: 'dialog-head' }, h('h2', {}, title),
      h('button', { class: 'icon-button', type: 'button', 'aria-label': t('common.close'), on: { click: () => dialog.close() } }, icon('close'))),
    h('div', { class: 'dialog-body' }, content));
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

/** Asks before a consequential action; resolves true when confirmed. */
export function confirmAction(title, message, confirmLabel) {
  return new Promise((resolve) => {
    let confirmed = false;
    const dialog = openDialog(title, h('div', { class: 'form' }, h('p', {}, message),
      h('div', { class: 'form-actions' },
        h('button', { class: 'btn', type: 'button', on: { click: () => dialog.close() } }, t('common.cancel')),
        h('button', { class: 'btn btn-danger', type: 'button', on: { click: () => { confirmed = true; dialog.close(); } } }, confirmLabel))));
    dialog.addEventListener('close', () => resolve(confirmed));
  });
}

/** A button that runs `action`, then `after` (a page's reload); a refusal becomes a toast. */
export function actionButton(label, action, after) {
  return h('button', { class: 'btn', type: 'button', on: { click: async () => {
    try {
      await action();
      after();
    } catch (error) {
      toast(errorText(error), 'error');
    }
  } } }, label);
}

export function badge(text, kind = 'neutral') {
  return h('span', { class: `badge badge-${kind}` }, text);
}
