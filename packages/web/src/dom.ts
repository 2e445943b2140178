/**
 * A tiny element builder. Text always goes in as Text nodes (never parsed as HTML): every string
 * a person typed is safe to pass as a child. There is deliberately no way to set innerHTML here.
 */
export type Child = Node | string | number | null | undefined | false;

// Index signatures dropped: HTMLFormElement's `[name: string]: any` would swallow every prop's type.
type Writable<E> = {
  -readonly [K in keyof E as string extends K ? never : number extends K ? never : K]?: E[K];
};
type SafeProps<E> = Omit<
  Writable<E>,
  'innerHTML' | 'outerHTML' | 'style' | 'className' | 'dataset'
>;

type Listeners = { [K in keyof HTMLElementEventMap]?: (ev: HTMLElementEventMap[K]) => void };

export interface Extra {
  class?: string | undefined;
  /** Attributes (aria-*, data-*, role, for…); `on*` and `style` are refused. */
  attrs?: Record<string, string | number | boolean | undefined>;
  on?: Listeners;
}

export type Props<K extends keyof HTMLElementTagNameMap> = SafeProps<HTMLElementTagNameMap[K]> &
  Extra;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props<K> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  const { class: cls, attrs, on, ...rest } = props;
  if (cls) el.className = cls;
  Object.assign(el, rest);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === false) continue;
      if (/^on/i.test(k) || k.toLowerCase() === 'style')
        throw new Error(`h(): attribute ${k} is not allowed`);
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  if (on) {
    for (const [type, fn] of Object.entries(on)) el.addEventListener(type, fn as EventListener);
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(
      typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c,
    );
  }
}

/** Replaces an element's children. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** True when the element is scrolled (nearly) to its bottom. */
export function nearBottom(el: Element, slack = 80): boolean {
  return el.scrollHeight - el.scrollTop - el.clientHeight <= slack;
}
