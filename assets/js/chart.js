// Horizontal bar charts drawn with plain elements (no library): one row per group with its
// label, a bar scaled to the largest value, and the number in the user's locale. Screen readers
// get the same figures as a list.
import { h } from './dom.js';

/**
 * `rows`: [{ label, value, text }] where `text` is the figure as people read it.
 * Clicking a row calls `onPick(row)` when given (e.g. to filter the list by that group).
 */
export function barChart(rows, { caption, onPick } = {}) {
  const max = Math.max(1, ...rows.map((r) => r.value));
  return h('figure', { class: 'bar-chart' },
    caption ? h('figcaption', {}, caption) : null,
    h('ul', { class: 'bar-rows' }, rows.map((row) => {
      const bar = h('span', { class: 'bar-fill' });
      bar.style.width = `${Math.max(0.5, (row.value / max) * 100)}%`;
      const content = [
        h('span', { class: 'bar-label', title: row.label }, row.label),
        h('span', { class: 'bar-track', 'aria-hidden': 'true' }, bar),
        h('span', { class: 'bar-value' }, row.text),
      ];
      return h('li', {}, onPick && row.pickable !== false
        ? h('button', { class: 'bar-row', type: 'button', on: { click: () => onPick(row) } }, content)
        : h('div', { class: 'bar-row' }, content));
    })));
}
