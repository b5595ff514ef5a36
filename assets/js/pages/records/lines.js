// Line items (产品明细) of opportunities and contracts: a product, quantity, unit price and
// discount per row, with each row's total and the sum shown as the user types. The totals here
// are a preview in the same arithmetic as the server (integer fen, halves to even); the server
// computes the stored amount.
import { api } from '../../api.js';
import { h, icon, mount } from '../../dom.js';
import { t } from '../../i18n.js';
import { formatMoney } from '../../format.js';
import { mayView, session } from '../../session.js';
import { table } from '../../ui.js';

const currency = () => session.user?.company?.currency || 'CNY';

/** quantity × unit price × (10000 − discount) / 10000, rounded half to even, in fen. */
export function lineTotal(quantity, unitPrice, discountBp) {
  const numerator = BigInt(quantity) * BigInt(unitPrice) * BigInt(10000 - discountBp);
  const quotient = numerator / 10000n;
  const twice = (numerator % 10000n) * 2n;
  const up = twice > 10000n || (twice === 10000n && quotient % 2n === 1n);
  return Number(up ? quotient + 1n : quotient);
}

/** A read-only table of a record's lines, for its page. */
export function linesTable(lines, money = currency()) {
  return table([
    { label: t('lines.product'), cell: (l) => l.product_name },
    { label: t('lines.quantity'), cell: (l) => String(l.quantity), className: 'num' },
    { label: t('lines.unit_price'), cell: (l) => formatMoney(l.unit_price, money), className: 'num' },
    { label: t('lines.discount'), cell: (l) => `${l.discount_bp / 100}%`, className: 'num' },
    { label: t('lines.total'), cell: (l) => formatMoney(l.total, money), className: 'num' },
  ], lines, t('lines.empty'));
}

/**
 * An editor for `lines` (the record's current ones, or none). Returns `{ el, value }` where
 * `value()` gives the lines as the API takes them, or null when nothing was entered.
 */
export function linesEditor(label, lines = []) {
  const rows = [];
  const body = h('tbody');
  const sum = h('strong', { class: 'lines-sum' });
  let products = [];
  const refresh = () => {
    let total = 0;
    for (const row of rows) {
      const quantity = Number(row.quantity.value);
      const price = Math.round(Number(row.price.value) * 100);
      const discount = Math.round(Number(row.discount.value) * 100);
      const valid = Number.isInteger(quantity) && quantity > 0 && price >= 0 && discount >= 0 && discount <= 10000;
      const line = valid ? lineTotal(quantity, price, discount) : 0;
      row.total.textContent = valid ? formatMoney(line, currency()) : '—';
      total += line;
    }
    sum.textContent = t('lines.sum', { amount: formatMoney(total, currency()) });
  };
  const addRow = (line = {}) => {
    const select = h('select', { class: 'input', 'aria-label': t('lines.product'), required: true },
      h('option', { value: '' }, '—'),
      products.map((p) => h('option', { value: p.id, selected: p.id === line.product_id }, p.name)));
    if (line.product_id && !products.some((p) => p.id === line.product_id)) {
      select.append(h('option', { value: line.product_id, selected: true }, line.product_name));
    }
    const row = {
      product: select,
      quantity: h('input', { class: 'input', type: 'number', min: 1, step: 1, value: line.quantity ?? 1, 'aria-label': t('lines.quantity') }),
      price: h('input', { class: 'input', type: 'number', min: 0, step: 0.01, value: line.unit_price === undefined ? '' : line.unit_price / 100, 'aria-label': t('lines.unit_price') }),
      discount: h('input', { class: 'input', type: 'number', min: 0, max: 100, step: 0.01, value: (line.discount_bp ?? 0) / 100, 'aria-label': t('lines.discount') }),
      total: h('span'),
    };
    select.addEventListener('change', () => {
      const chosen = products.find((p) => String(p.id) === select.value);
      if (chosen) row.price.value = chosen.price / 100;
      refresh();
    });
    const tr = h('tr', {},
      h('td', {}, select), h('td', {}, row.quantity), h('td', {}, row.price), h('td', {}, row.discount),
      h('td', { className: 'num' }, row.total),
      h('td', {}, h('button', { class: 'btn btn-icon', type: 'button', title: t('lines.remove'), 'aria-label': t('lines.remove'), on: { click: () => {
        rows.splice(rows.indexOf(row), 1);
        tr.remove();
        refresh();
      } } }, icon('trash'))));
    for (const input of [row.quantity, row.price, row.discount]) input.addEventListener('input', refresh);
    rows.push(row);
    body.append(tr);
    refresh();
  };
  const el = h('fieldset', { class: 'lines-editor' },
    h('legend', {}, label),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
      h('thead', {}, h('tr', {}, [t('lines.product'), t('lines.quantity'), t('lines.unit_price_yuan'), t('lines.discount_percent'), t('lines.total'), ''].map((c) => h('th', {}, c)))),
      body)),
    h('div', { class: 'lines-foot' },
      h('button', { class: 'btn', type: 'button', on: { click: () => addRow() } }, icon('plus'), t('lines.add')), sum),
    h('p', { class: 'muted' }, t('lines.hint')));
  const catalogue = mayView('products')
    ? api('GET', '/products?per_page=200&sort=name&filter[active]=true')
    : Promise.resolve({ items: [] });
  catalogue.then((answer) => {
    products = answer.items;
    mount(body);
    rows.length = 0;
    lines.forEach(addRow);
  }).catch(() => lines.forEach(addRow));
  refresh();
  const value = () => rows.filter((r) => r.product.value).map((r) => ({
    product_id: Number(r.product.value),
    quantity: Number(r.quantity.value),
    unit_price: Math.round(Number(r.price.value) * 100),
    discount_bp: Math.round(Number(r.discount.value) * 100),
  }));
  return { el, value };
}
