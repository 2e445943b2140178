import { h } from '../dom.js';
import { paths } from '../lib/routes.js';
import type { View } from '../app.js';

/** A clear page for what cannot be shown: an unknown room, a refused link, a wrong address. */
export function problemView(title: string, message: string, extra?: HTMLElement): View {
  const el = h(
    'section',
    { class: 'problem' },
    h('h1', { tabIndex: -1 }, title),
    h('p', { class: 'problem-text', attrs: { role: 'alert' } }, message),
    extra,
    h('p', {}, h('a', { class: 'btn primary', href: paths.lobby() }, 'Back to the lobby')),
  );
  return { el, title, destroy: () => undefined };
}
