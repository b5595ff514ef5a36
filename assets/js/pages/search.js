// #/search?q=: the global search across every entity the user may see, grouped by entity.
import { api } from '../api.js';
import { h, mount } from '../dom.js';
import { t } from '../i18n.js';
import { emptyState, errorState, loading } from '../ui.js';
import { loadMeta, recordPath } from '../meta.js';

export function searchPage(params, query) {
  const q = (query.get('q') || '').trim();
  document.title = `${t('search.title')} · ${t('app.name')}`;
  const results = h('div', {}, loading());
  const run = async () => {
    if (!q) {
      mount(results, emptyState('search', t('search.prompt')));
      return;
    }
    mount(results, loading());
    try {
      const [meta, answer] = await Promise.all([loadMeta(), api('GET', `/search?q=${encodeURIComponent(q)}`)]);
      if (!answer.items.length && !answer.comments?.length) {
        mount(results, emptyState('search', t('search.none', { q })));
        return;
      }
      const groups = new Map();
      for (const item of answer.items) {
        if (!groups.has(item.entity)) groups.set(item.entity, []);
        groups.get(item.entity).push(item);
      }
      mount(results, [...groups].map(([entity, items]) => h('section', { class: 'card' },
        h('h2', { class: 'card-title' }, meta.get(entity)?.label || entity),
        h('ul', { class: 'result-list' }, items.map((item) => h('li', {},
          h('a', { href: `#${recordPath(entity, item.id)}` }, h('strong', {}, item.title ?? `#${item.id}`)),
          item.subtitle ? h('span', { class: 'muted' }, ` · ${item.subtitle}`) : null))))),
      answer.comments?.length ? h('section', { class: 'card' },
        h('h2', { class: 'card-title' }, t('search.comments')),
        h('ul', { class: 'result-list' }, answer.comments.map((hit) => h('li', {},
          h('a', { href: `#${recordPath(hit.entity, hit.record_id)}` }, h('strong', {}, hit.excerpt)),
          h('span', { class: 'muted' }, ` · ${meta.get(hit.entity)?.label_one || hit.entity} · ${t('search.comment_by', { author: hit.author || '—', title: hit.title })}`))))) : null);
    } catch (error) {
      mount(results, errorState(error, run));
    }
  };
  run();
  return h('div', { class: 'page' },
    h('header', { class: 'page-header' }, h('h1', {}, t('search.title')), q ? h('p', { class: 'muted' }, t('search.for', { q })) : null),
    results);
}
