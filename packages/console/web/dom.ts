// Small DOM helpers for the console: build elements without innerHTML (every text is set as text), and
// update keyed rows in place so focus, scroll and open <details> survive the live updates.

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | number | boolean | undefined>;

/** `h('a', { href: '#/x', class: 'y' }, 'text', child)`: an element with attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
}

/** Replaces all children of `el`. */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** One table cell, described as data so an unchanged cell is left alone. */
export interface Cell {
  /** What identifies the cell's content; the cell is rebuilt only when it changes. */
  sig: string;
  render: () => Child | Child[];
  className?: string;
}

export function text(value: string, className?: string): Cell {
  return { sig: `${className ?? ''}|${value}`, render: () => value, ...(className ? { className } : {}) };
}

export function link(label: string, href: string): Cell {
  return { sig: `link|${label}|${href}`, render: () => h('a', { href }, label) };
}

export interface Row {
  key: string;
  cells: Cell[];
  className?: string;
}

/** Makes `tbody` show `rows` in order, reusing rows by key and cells whose content did not change. */
export function syncRows(tbody: HTMLTableSectionElement, rows: Row[]): void {
  const existing = new Map<string, HTMLTableRowElement>();
  for (const tr of Array.from(tbody.rows)) existing.set(tr.dataset.key ?? '', tr);
  let previous: HTMLTableRowElement | undefined;
  for (const row of rows) {
    let tr = existing.get(row.key);
    existing.delete(row.key);
    if (!tr) {
      tr = document.createElement('tr');
      tr.dataset.key = row.key;
    }
    tr.className = row.className ?? '';
    row.cells.forEach((cell, i) => {
      let td = tr.cells[i];
      if (!td) td = tr.insertCell();
      if (td.dataset.sig === cell.sig) return;
      td.dataset.sig = cell.sig;
      td.className = cell.className ?? '';
      const content = cell.render();
      replace(td, ...(Array.isArray(content) ? content : [content]));
    });
    while (tr.cells.length > row.cells.length) tr.deleteCell(-1);
    const wanted: ChildNode | null = previous ? previous.nextSibling : tbody.firstChild;
    if (wanted !== tr) tbody.insertBefore(tr, wanted);
    previous = tr;
  }
  for (const tr of existing.values()) tr.remove();
}

/** A table with a caption (for screen readers), headers and an empty body to sync. */
export function table(
  caption: string,
  headers: string[],
  className = '',
): { el: HTMLTableElement; body: HTMLTableSectionElement } {
  const body = h('tbody');
  const el = h(
    'table',
    { class: className },
    h('caption', { class: 'visually-hidden' }, caption),
    h('thead', {}, h('tr', {}, ...headers.map((t) => h('th', { scope: 'col' }, t)))),
    body,
  );
  return { el, body };
}

/** A message for when there is nothing to show yet, saying why and what to try. */
export function emptyState(title: string, ...lines: Child[]): HTMLElement {
  return h(
    'div',
    { class: 'empty', role: 'status' },
    h('p', { class: 'empty-title' }, title),
    ...lines.map((l) => h('p', {}, l)),
  );
}
