// The configuration page: the revision in force, every refused change (file, document, field, reason,
// and the revision that kept serving), each VirtualService's traffic split drawn as shares, and every
// resource with its kind, name and YAML.
import type { ConfigView, ConsoleState, RejectionView, SplitView } from '@strait/api/console';
import { h, replace } from '../dom.ts';
import { clock } from '../format.ts';

const SHARE_COLORS = ['#1f4e9c', '#e08a00', '#2e7d32', '#8e44ad', '#00838f', '#6d4c41'];

export function splitBar(s: SplitView): HTMLElement {
  const total = s.shares.reduce((n, x) => n + x.weight, 0) || 1;
  return h(
    'figure',
    { class: 'split', 'data-split': `${s.namespace}/${s.virtualService}/${s.route}` },
    h('figcaption', {}, h('strong', {}, s.virtualService), ` · route ${s.route}`),
    h(
      'div',
      {
        class: 'bar',
        role: 'img',
        'aria-label': s.shares
          .map((x) => `${x.destination} ${Math.round((x.weight / total) * 100)}%`)
          .join(', '),
      },
      ...s.shares.map((x, i) => {
        const pct = Math.round((x.weight / total) * 1000) / 10;
        const seg = h(
          'span',
          { class: 'segment', 'data-destination': x.destination, 'data-share': pct },
          pct >= 20 ? `${x.destination} ${pct}%` : '',
        );
        seg.style.width = `${pct}%`;
        seg.style.background = SHARE_COLORS[i % SHARE_COLORS.length] as string;
        return seg;
      }),
    ),
    h(
      'ul',
      { class: 'shares' },
      ...s.shares.map((x, i) => {
        const swatch = h('span', { class: 'swatch filled' });
        swatch.style.background = SHARE_COLORS[i % SHARE_COLORS.length] as string;
        return h('li', {}, swatch, `${x.destination}: ${Math.round((x.weight / total) * 1000) / 10}%`);
      }),
    ),
  );
}

function rejection(r: RejectionView): HTMLElement {
  return h(
    'article',
    { class: 'rejection', role: 'alert' },
    h(
      'h3',
      {},
      `Refused at ${clock(r.at)} (${r.source === 'api' ? 'an apply' : r.source === 'file' ? 'a file edit' : r.source}); revision ${r.keptRevision} kept serving`,
    ),
    h(
      'ul',
      {},
      ...r.issues.map((i) =>
        h(
          'li',
          {},
          h(
            'span',
            { class: 'mono where' },
            `${i.file}: document ${i.document}${i.kind ? ` (${i.kind}${i.name ? ` ${i.name}` : ''})` : ''}`,
          ),
          h('br'),
          h('span', { class: 'mono field' }, i.path),
          ': ',
          i.message,
          h('span', { class: 'code' }, ` ${i.code}`),
        ),
      ),
    ),
  );
}

export class ConfigPage {
  readonly el: HTMLElement;
  readonly #revision = h('p', { class: 'summary' });
  readonly #rejections = h('div', { class: 'rejections' });
  readonly #splits = h('div', { class: 'splits' });
  readonly #filter = h('input', {
    type: 'search',
    id: 'resource-filter',
    placeholder: 'kind or name',
    autocomplete: 'off',
  });
  readonly #resources = h('div', { class: 'resources' });
  #signatures = { rejections: '', splits: '', resources: '' };

  constructor() {
    this.#filter.addEventListener('input', () => this.#applyFilter());
    this.el = h(
      'section',
      { class: 'page scroll', 'aria-labelledby': 'config-title' },
      h('h1', { id: 'config-title' }, 'Configuration'),
      this.#revision,
      this.#rejections,
      h('h2', {}, 'Traffic splits'),
      this.#splits,
      h('h2', {}, 'Resources'),
      h('p', {}, h('label', { for: 'resource-filter' }, 'Filter: '), this.#filter),
      this.#resources,
    );
  }

  update(state: ConsoleState): void {
    const c = state.config;
    replace(
      this.#revision,
      `Revision ${c.revision} (digest `,
      h('code', {}, c.digest),
      `) in force since ${clock(c.appliedAt)}: ${c.resources.length} resources.`,
    );
    this.#renderRejections(c);
    this.#renderSplits(c);
    this.#renderResources(c);
  }

  #renderRejections(c: ConfigView): void {
    const sig = JSON.stringify(c.rejections);
    if (sig === this.#signatures.rejections) return;
    this.#signatures.rejections = sig;
    replace(
      this.#rejections,
      c.rejections.length === 0
        ? h('p', { class: 'ok' }, 'No change has been refused since the control plane started.')
        : h(
            'div',
            {},
            h('h2', {}, `Refused changes (${c.rejections.length})`),
            ...c.rejections.map(rejection),
          ),
    );
  }

  #renderSplits(c: ConfigView): void {
    const sig = JSON.stringify(c.splits);
    if (sig === this.#signatures.splits) return;
    this.#signatures.splits = sig;
    const weighted = c.splits.filter((s) => s.shares.length > 1);
    replace(
      this.#splits,
      weighted.length === 0
        ? h(
            'p',
            { class: 'hint' },
            'No VirtualService splits traffic between destinations (every route goes to one).',
          )
        : null,
      ...weighted.map(splitBar),
    );
  }

  #renderResources(c: ConfigView): void {
    const sig = JSON.stringify(c.resources);
    if (sig === this.#signatures.resources) return;
    this.#signatures.resources = sig;
    const open = new Set(
      Array.from(this.#resources.querySelectorAll('details[open]')).map(
        (d) => (d as HTMLElement).dataset.key,
      ),
    );
    replace(
      this.#resources,
      ...c.resources.map((r) => {
        const key = `${r.kind}/${r.namespace}/${r.name}`;
        return h(
          'details',
          {
            'data-key': key,
            'data-search': `${r.kind} ${r.name} ${r.namespace}`.toLowerCase(),
            open: open.has(key),
          },
          h(
            'summary',
            {},
            h('span', { class: 'kind' }, r.kind),
            ' ',
            h('strong', {}, r.name),
            h('span', { class: 'hint' }, ` ${r.namespace} · ${r.file} document ${r.document}`),
          ),
          h('pre', { class: 'yaml', tabindex: 0 }, r.yaml),
        );
      }),
    );
    this.#applyFilter();
  }

  #applyFilter(): void {
    const q = this.#filter.value.trim().toLowerCase();
    for (const d of Array.from(this.#resources.querySelectorAll('details')))
      (d as HTMLElement).hidden = q !== '' && !((d as HTMLElement).dataset.search ?? '').includes(q);
  }
}
