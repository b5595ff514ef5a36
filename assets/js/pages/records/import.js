// The import dialog of a list: choose a CSV, XLSX or XLS file (another CRM's export is
// recognised and mapped for you), map its columns to fields (guessed
// from the headers), check it (a dry run that lists every bad row and why), then import it and,
// if it was a mistake, undo it. The upload shows as a bar; the server's work then runs on its
// own (`wait=false`) and the bar follows it: rows done of total, rows per second, time left,
// with a cancel button. A page reload loses nothing: the list and the dialog find a running
// import of the caller's again (`GET /imports?running=true`) and follow it on.
import { api, upload } from '../../api.js';
import { h, icon, mount } from '../../dom.js';
import { t } from '../../i18n.js';
import { formatList, formatNumber } from '../../format.js';
import { session } from '../../session.js';
import { errorText, openDialog, table, toast } from '../../ui.js';
import { labelOf } from '../../meta.js';

const POLL_MS = 400;

function progressBar() {
  const bar = h('div', { class: 'progress-bar determinate' });
  const el = h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', hidden: true }, bar);
  return {
    el,
    show(fraction) {
      el.hidden = false;
      if (fraction === null) {
        bar.classList.remove('determinate');
        bar.style.width = '';
        el.removeAttribute('aria-valuenow');
      } else {
        bar.classList.add('determinate');
        bar.style.width = `${Math.round(fraction * 100)}%`;
        el.setAttribute('aria-valuenow', String(Math.round(fraction * 100)));
      }
    },
    hide() { el.hidden = true; },
  };
}

const pause = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/** A duration in the reader's language: seconds under two minutes, else minutes. */
function duration(seconds) {
  return seconds < 120
    ? formatNumber(Math.max(1, Math.round(seconds)), { style: 'unit', unit: 'second', unitDisplay: 'short' })
    : formatNumber(Math.round(seconds / 60), { style: 'unit', unit: 'minute', unitDisplay: 'short' });
}

/** How far a running batch is, in words: rows done of total, and its pace once it has one. */
function progressText(batch) {
  const done = t('import.progress', { done: formatNumber(batch.processed), total: formatNumber(batch.rows) });
  if (!batch.rows_per_second || batch.seconds_left === null) return done;
  return `${done} · ${t('import.pace', { rate: formatNumber(batch.rows_per_second), left: duration(batch.seconds_left) })}`;
}

/** The caller's own running import of this entity, if there is one. */
export async function runningImport(entity) {
  const answer = await api('GET', `/imports?running=true&entity=${entity.name}`);
  return answer.items.find((batch) => batch.user_id === session.user.id) || null;
}

/**
 * Follows a batch until it ends, drawing its progress into `view` (a bar, a line of text and a
 * cancel button); answers its last status, which carries the report. Stops early, answering
 * null, once `view` has left the page (its dialog was closed).
 */
async function follow(id, view) {
  const line = h('p', { class: 'muted import-progress' });
  const stop = h('button', { class: 'btn btn-danger-outline', type: 'button' }, icon('close'), t('import.cancel'));
  stop.addEventListener('click', async () => {
    stop.disabled = true;
    try {
      await api('POST', `/imports/${id}/cancel`);
      mount(line, t('import.cancelling'));
    } catch (error) {
      toast(errorText(error), 'error');
      stop.disabled = false;
    }
  });
  mount(view.status, line, h('div', { class: 'form-actions' }, stop));
  try {
    for (;;) {
      const batch = await api('GET', `/imports/${id}`);
      if (batch.state !== 'running') return batch;
      if (!view.status.isConnected) return null;
      view.progress.show(batch.rows ? batch.processed / batch.rows : null);
      if (!batch.cancel_requested) mount(line, progressText(batch));
      await pause(POLL_MS);
    }
  } finally {
    view.progress.hide();
    mount(view.status);
  }
}

/** Sends the file with the mapping, then follows the server's work until it ends. */
async function send(entity, file, options, dryRun, view) {
  const form = new FormData();
  form.append('file', file);
  form.append('mapping', JSON.stringify(options.mapping));
  if (options.upsertKey) form.append('upsert_key', options.upsertKey);
  if (options.duplicates === 'create') form.append('confirm_duplicates', 'true');
  if (options.duplicates === 'skip') form.append('skip_duplicates', 'true');
  if (options.addOptions) form.append('add_options', 'true');
  view.progress.show(0);
  let started;
  try {
    started = await upload(`/${entity.name}/import?dry_run=${dryRun}&wait=false`, form, (fraction) => view.progress.show(fraction < 1 ? fraction : null));
  } catch (error) {
    view.progress.hide();
    throw error;
  }
  return follow(started.id, view);
}

/**
 * A banner for a list page while the caller's import of its entity runs (after a reload, or
 * once the import dialog was closed midway): how far it is, and a button back to the dialog.
 * `check()` looks again; the banner follows the import until it ends, then calls `onEnded`.
 */
export function runningBanner(entity, onEnded) {
  const el = h('div', { class: 'banner import-running', role: 'status', hidden: true });
  let following = false;
  async function check() {
    if (following) return;
    let batch = await runningImport(entity).catch(() => null);
    if (!batch) return;
    following = true;
    const show = h('button', { class: 'btn', type: 'button' }, t('import.show'));
    show.addEventListener('click', () => openImport(entity, { onDone: onEnded, onClose: check }));
    const line = h('span');
    mount(el, line, show);
    el.hidden = false;
    try {
      while (batch.state === 'running' && el.isConnected) {
        mount(line, t('import.running', { file: batch.file_name }), ' ', progressText(batch));
        await pause(POLL_MS * 5);
        batch = await api('GET', `/imports/${batch.id}`);
      }
    } catch {
      // The banner is a convenience: when it cannot tell, it goes away.
    } finally {
      el.hidden = true;
      following = false;
    }
    if (batch.state !== 'running' && !batch.dry_run) onEnded?.();
  }
  check();
  return { el, check };
}

function mappingTable(entity, preview) {
  const selects = {};
  const rows = preview.headers.map((header, index) => ({ header, index }));
  const columns = [
    { label: t('import.column'), cell: (r) => r.header || `#${r.index + 1}` },
    { label: t('import.sample'), cell: (r) => preview.sample.slice(0, 2).map((row) => row[r.index]).filter(Boolean).join(' · ') || '—' },
    { label: t('import.field'), cell: (r) => {
      const select = h('select', { class: 'input', 'aria-label': t('import.field_for', { column: r.header }) },
        h('option', { value: '' }, t('import.skip')),
        preview.fields.map((name) => h('option', { value: name, selected: preview.mapping[r.header] === name }, labelOf(entity, name))));
      selects[r.header] = select;
      return select;
    } },
  ];
  return {
    el: table(columns, rows, t('import.no_columns')),
    mapping: () => Object.fromEntries(Object.entries(selects).map(([header, select]) => [header, select.value])),
  };
}

function errorsTable(entity, report) {
  const errors = report.errors || [];
  const more = report.error_count > errors.length ? h('p', { class: 'muted' }, t('import.more_errors', { count: report.error_count - errors.length })) : null;
  return [table([
    { label: t('import.row'), cell: (e) => String(e.row) },
    { label: t('import.field'), cell: (e) => (e.field ? labelOf(entity, e.field) : '—') },
    { label: t('import.problem'), cell: (e) => e.message },
  ], errors, ''), more];
}

/**
 * Opens the import dialog. `onDone` runs after records were imported or an import undone;
 * `onClose` when the dialog closes. A running import of the caller's is followed at once.
 */
export function openImport(entity, { onDone, onClose } = {}) {
  const body = h('div', { class: 'import' });
  const view = { progress: progressBar(), status: h('div', { role: 'status', class: 'import-status' }) };
  const result = h('div', { class: 'import-result' });
  const fileInput = h('input', { type: 'file', class: 'input', name: 'file', accept: '.csv,.xlsx,.xls,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,application/vnd.ms-excel' });
  const chooser = h('div', { class: 'field' }, h('label', {}, t('import.file')), fileInput, h('div', { class: 'hint' }, t('import.file_hint')));
  const dialog = openDialog(t('import.title', { entity: entity.label }), h('div', {}, chooser, view.progress.el, view.status, result, body));
  dialog.classList.add('dialog-wide');
  dialog.addEventListener('close', () => onClose?.());

  runningImport(entity).then((batch) => {
    if (!batch) return;
    mount(result, h('p', { class: 'muted' }, t('import.running', { file: batch.file_name })));
    chooser.hidden = true;
    follow(batch.id, view).then((ended) => {
      chooser.hidden = false;
      if (ended) drawEnded(ended, null, null);
    }).catch((error) => mount(result, h('div', { class: 'banner banner-error' }, errorText(error))));
  }).catch(() => {});

  fileInput.addEventListener('change', async () => {
    const file = fileInput.files[0];
    mount(body);
    mount(result);
    if (!file) return;
    const form = new FormData();
    form.append('file', file);
    view.progress.show(0);
    let preview;
    try {
      preview = await upload(`/${entity.name}/import/preview`, form, (fraction) => view.progress.show(fraction < 1 ? fraction : null));
    } catch (error) {
      mount(result, h('div', { class: 'banner banner-error' }, errorText(error)));
      return;
    } finally {
      view.progress.hide();
    }
    drawMapping(file, preview);
  });

  /** Runs a check or the import, with the chooser and mapping put away while it runs. */
  async function start(file, options, dryRun, button) {
    button.disabled = true;
    chooser.hidden = true;
    body.hidden = true;
    mount(result, h('p', { class: 'muted' }, t(dryRun ? 'import.checking' : 'import.importing')));
    try {
      const ended = await send(entity, file, options, dryRun, view);
      if (ended) drawEnded(ended, file, options);
    } catch (error) {
      mount(result, h('div', { class: 'banner banner-error' }, errorText(error)));
    } finally {
      button.disabled = false;
      chooser.hidden = false;
      body.hidden = false;
    }
  }

  function drawMapping(file, preview) {
    const mapping = mappingTable(entity, preview);
    const upsert = h('select', { class: 'input', name: 'upsert_key' }, h('option', { value: '' }, t('import.upsert_none')),
      preview.fields.filter((n) => ['name', 'phone', 'email', 'title'].includes(n)).map((n) => h('option', { value: n }, labelOf(entity, n))));
    const duplicates = h('select', { class: 'input', name: 'duplicates' },
      ['refuse', 'skip', 'create'].map((choice) => h('option', { value: choice }, t(`import.duplicates_${choice}`))));
    const options = () => ({ mapping: mapping.mapping(), upsertKey: upsert.value, duplicates: duplicates.value });
    const check = h('button', { class: 'btn btn-primary', type: 'button' }, t('import.check'));
    check.addEventListener('click', () => start(file, options(), true, check));
    mount(body,
      preview.format ? h('div', { class: 'banner banner-ok' }, t('import.recognised', { system: t(`import_format.${preview.format}`) })) : null,
      h('p', { class: 'muted' }, t('import.rows_found', { rows: formatNumber(preview.rows) })),
      mapping.el,
      h('div', { class: 'import-options' },
        h('div', { class: 'field' }, h('label', {}, t('import.upsert_key')), upsert, h('div', { class: 'hint' }, t('import.upsert_hint'))),
        h('div', { class: 'field' }, h('label', {}, t('import.duplicates')), duplicates)),
      h('div', { class: 'form-actions' }, check));
  }

  /** What an ended check or import tells; `file` is null for one followed after a reload. */
  function drawEnded(ended, file, options) {
    if (ended.state === 'cancelled') {
      mount(result, h('div', { class: 'banner banner-error' }, t('import.cancelled')));
    } else if (ended.error_count > 0) {
      mount(result,
        h('div', { class: 'banner banner-error' }, t('import.has_errors', { count: formatNumber(ended.error_count) })),
        newOptions(ended, file, options),
        h('p', { class: 'muted' }, t('import.all_or_nothing')),
        errorsTable(entity, ended));
    } else if (ended.state === 'failed') {
      mount(result, h('div', { class: 'banner banner-error' }, t('import.failed')));
    } else if (ended.dry_run) {
      drawChecked(ended, file, options);
    } else {
      drawDone(ended);
      onDone?.();
    }
  }

  /**
   * The file's values that are no option of their picklist (another system's, such as its
   * sources), with the offer to an administrator to add them and check again.
   */
  function newOptions(report, file, options) {
    const unknown = report.unknown_options || [];
    if (!unknown.length || !session.user.is_admin || !file || options.addOptions) return null;
    const add = h('button', { class: 'btn btn-primary', type: 'button' }, icon('plus'), t('import.add_options'));
    add.addEventListener('click', () => start(file, { ...options, addOptions: true }, true, add));
    return h('div', { class: 'import-new-options' },
      h('p', {}, t('import.unknown_options')),
      h('ul', {}, unknown.map((u) => h('li', {}, t('import.unknown_values', { field: labelOf(entity, u.field), values: formatList(u.values) })))),
      h('div', { class: 'form-actions' }, add));
  }

  function drawChecked(report, file, options) {
    const summary = [t('import.would', { rows: formatNumber(report.rows), create: formatNumber(report.would_create), update: formatNumber(report.would_update) }),
      report.skipped ? ` ${t('import.would_skip', { count: formatNumber(report.skipped) })}` : ''].join('');
    if (!file) {
      mount(result, h('div', { class: 'banner banner-ok' }, t('import.ready')), h('p', {}, summary), h('p', { class: 'muted' }, t('import.choose_again', { file: report.file_name })));
      return;
    }
    const go = h('button', { class: 'btn btn-primary', type: 'button' }, icon('check'), t('import.run', { rows: formatNumber(report.rows) }));
    go.addEventListener('click', () => start(file, options, false, go));
    mount(result, h('div', { class: 'banner banner-ok' }, t('import.ready')), h('p', {}, summary), h('div', { class: 'form-actions' }, go));
  }

  function drawDone(done) {
    const undo = h('button', { class: 'btn btn-danger-outline', type: 'button' }, t('import.undo'));
    undo.addEventListener('click', async () => {
      undo.disabled = true;
      mount(result, h('p', { class: 'muted' }, t('import.undoing')));
      view.progress.show(null);
      try {
        const answer = await api('DELETE', `/imports/${done.id}`);
        mount(result, h('div', { class: 'banner banner-ok' }, t('import.undone', { deleted: answer.deleted, reverted: answer.reverted, skipped: answer.skipped.length })));
        onDone?.();
      } catch (error) {
        toast(errorText(error), 'error');
        drawDone(done);
      } finally {
        view.progress.hide();
      }
    });
    mount(body);
    mount(result, h('div', { class: 'banner banner-ok' }, t('import.done', { created: formatNumber(done.created), updated: formatNumber(done.updated) }),
      done.skipped ? ` ${t('import.skipped', { count: formatNumber(done.skipped) })}` : null), h('div', { class: 'form-actions' }, undo));
  }
}
