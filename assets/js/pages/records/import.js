// The import dialog of a list: choose a CSV or XLSX file, map its columns to fields (guessed
// from the headers), check it (a dry run that lists every bad row and why), then import it in
// one go and, if it was a mistake, undo it. Upload progress is shown as a bar; the server's
// work, which has no steps to count, as a running bar.
import { api, upload } from '../../api.js';
import { h, icon, mount } from '../../dom.js';
import { t } from '../../i18n.js';
import { formatNumber } from '../../format.js';
import { errorText, openDialog, table, toast } from '../../ui.js';
import { labelOf } from '../../meta.js';

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

/** Sends the file with the mapping; the bar shows the upload, then the server's work. */
async function send(entity, file, options, dryRun, progress) {
  const form = new FormData();
  form.append('file', file);
  form.append('mapping', JSON.stringify(options.mapping));
  if (options.upsertKey) form.append('upsert_key', options.upsertKey);
  if (options.confirmDuplicates) form.append('confirm_duplicates', 'true');
  progress.show(0);
  try {
    return await upload(`/${entity.name}/import?dry_run=${dryRun}`, form, (fraction) => progress.show(fraction < 1 ? fraction : null));
  } finally {
    progress.hide();
  }
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
  const more = report.error_count > report.errors.length ? h('p', { class: 'muted' }, t('import.more_errors', { count: report.error_count - report.errors.length })) : null;
  return [table([
    { label: t('import.row'), cell: (e) => String(e.row) },
    { label: t('import.field'), cell: (e) => (e.field ? labelOf(entity, e.field) : '—') },
    { label: t('import.problem'), cell: (e) => e.message },
  ], report.errors, ''), more];
}

/** Opens the import dialog; `onDone` runs after records were imported or an import undone. */
export function openImport(entity, onDone) {
  const body = h('div', { class: 'import' });
  const progress = progressBar();
  const status = h('div', { role: 'status', class: 'import-status' });
  const fileInput = h('input', { type: 'file', class: 'input', name: 'file', accept: '.csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' });
  const chooser = h('div', { class: 'field' }, h('label', {}, t('import.file')), fileInput, h('div', { class: 'hint' }, t('import.file_hint')));
  const dialog = openDialog(t('import.title', { entity: entity.label }), h('div', {}, chooser, progress.el, status, body));
  dialog.classList.add('dialog-wide');

  fileInput.addEventListener('change', async () => {
    const file = fileInput.files[0];
    mount(body);
    mount(status);
    if (!file) return;
    const form = new FormData();
    form.append('file', file);
    progress.show(0);
    let preview;
    try {
      preview = await upload(`/${entity.name}/import/preview`, form, (fraction) => progress.show(fraction < 1 ? fraction : null));
    } catch (error) {
      mount(status, h('div', { class: 'banner banner-error' }, errorText(error)));
      return;
    } finally {
      progress.hide();
    }
    drawMapping(file, preview);
  });

  function drawMapping(file, preview) {
    const mapping = mappingTable(entity, preview);
    const upsert = h('select', { class: 'input', name: 'upsert_key' }, h('option', { value: '' }, t('import.upsert_none')),
      preview.fields.filter((n) => ['name', 'phone', 'email', 'title'].includes(n)).map((n) => h('option', { value: n }, labelOf(entity, n))));
    const duplicates = h('input', { type: 'checkbox', name: 'confirm_duplicates' });
    const options = () => ({ mapping: mapping.mapping(), upsertKey: upsert.value, confirmDuplicates: duplicates.checked });
    const check = h('button', { class: 'btn btn-primary', type: 'button' }, t('import.check'));
    const result = h('div');
    check.addEventListener('click', async () => {
      check.disabled = true;
      mount(result);
      try {
        const report = await send(entity, file, options(), true, progress);
        drawReport(file, options(), report, result);
      } catch (error) {
        mount(result, h('div', { class: 'banner banner-error' }, errorText(error)));
      } finally {
        check.disabled = false;
      }
    });
    mount(body,
      h('p', { class: 'muted' }, t('import.rows_found', { rows: formatNumber(preview.rows) })),
      mapping.el,
      h('div', { class: 'import-options' },
        h('div', { class: 'field' }, h('label', {}, t('import.upsert_key')), upsert, h('div', { class: 'hint' }, t('import.upsert_hint'))),
        h('label', { class: 'check' }, duplicates, h('span', {}, t('import.confirm_duplicates')))),
      h('div', { class: 'form-actions' }, check),
      result);
  }

  function drawReport(file, options, report, into) {
    const summary = t('import.would', { rows: formatNumber(report.rows), create: formatNumber(report.would_create), update: formatNumber(report.would_update) });
    if (report.error_count > 0) {
      mount(into,
        h('div', { class: 'banner banner-error' }, t('import.has_errors', { count: formatNumber(report.error_count) })),
        h('p', { class: 'muted' }, t('import.all_or_nothing')),
        errorsTable(entity, report));
      return;
    }
    const go = h('button', { class: 'btn btn-primary', type: 'button' }, icon('check'), t('import.run', { rows: formatNumber(report.rows) }));
    go.addEventListener('click', async () => {
      go.disabled = true;
      try {
        const done = await send(entity, file, options, false, progress);
        if (done.error_count > 0) {
          drawReport(file, options, done, into);
          return;
        }
        drawDone(done, into);
        onDone?.();
      } catch (error) {
        mount(into, h('div', { class: 'banner banner-error' }, errorText(error)));
      } finally {
        go.disabled = false;
      }
    });
    mount(into, h('div', { class: 'banner banner-ok' }, t('import.ready')), h('p', {}, summary), h('div', { class: 'form-actions' }, go));
  }

  function drawDone(done, into) {
    const undo = h('button', { class: 'btn btn-danger-outline', type: 'button' }, t('import.undo'));
    undo.addEventListener('click', async () => {
      undo.disabled = true;
      try {
        const answer = await api('DELETE', `/imports/${done.batch_id}`);
        mount(into, h('div', { class: 'banner banner-ok' }, t('import.undone', { deleted: answer.deleted, reverted: answer.reverted, skipped: answer.skipped.length })));
        onDone?.();
      } catch (error) {
        toast(errorText(error), 'error');
        undo.disabled = false;
      }
    });
    mount(body);
    mount(into, h('div', { class: 'banner banner-ok' }, t('import.done', { created: formatNumber(done.created), updated: formatNumber(done.updated) })), h('div', { class: 'form-actions' }, undo));
    mount(status, into);
  }
}
