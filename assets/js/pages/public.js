// The frame of the pages shown before sign-in: brand, a language switch, and the content card.
import { h } from '../dom.js';
import { LANGUAGES, language, t } from '../i18n.js';
import { choosePublicLanguage } from '../session.js';

export function publicFrame(title, intro, content, rerender) {
  document.title = `${title} · ${t('app.name')}`;
  const switcher = h('div', { class: 'lang-switch', role: 'group', 'aria-label': t('shell.language') },
    LANGUAGES.map((lang) => h('button', {
      type: 'button',
      class: `chip ${lang === language() ? 'active' : ''}`,
      'aria-pressed': String(lang === language()),
      on: { click: async () => { await choosePublicLanguage(lang); rerender(); } },
    }, t(`lang.${lang}`))));
  return h('main', { class: 'public' },
    h('div', { class: 'public-panel' },
      h('div', { class: 'public-top' },
        h('div', { class: 'brand' }, h('img', { src: '/img/logo.svg', alt: '', width: 32, height: 32 }), h('span', {}, t('app.name'))),
        switcher),
      h('h1', {}, title),
      intro ? h('p', { class: 'lead' }, intro) : null,
      content),
    h('p', { class: 'public-foot' }, t('app.tagline')));
}
