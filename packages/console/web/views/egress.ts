// The egress page: the allow-list (ServiceEntry hosts and the outbound mode) and every allowed and
// denied request by host and reason, as the proxies counted them.
import type { ConsoleState } from '@strait/api/console';
import { emptyState, h, replace, syncRows, table, text } from '../dom.ts';
import { rate } from '../format.ts';

export class EgressPage {
  readonly el: HTMLElement;
  readonly #policy = h('div', { class: 'summary' });
  readonly #empty = h('div');
  readonly #table = table('Egress requests by host', [
    'Host',
    'Verdict',
    'Reason',
    'Counted by',
    'Requests',
    'per second',
  ]);

  constructor() {
    this.el = h(
      'section',
      { class: 'page scroll', 'aria-labelledby': 'egress-title' },
      h('h1', { id: 'egress-title' }, 'Egress'),
      this.#policy,
      this.#empty,
      this.#table.el,
    );
  }

  update(state: ConsoleState): void {
    const e = state.egress;
    replace(
      this.#policy,
      h(
        'p',
        {},
        'Outbound mode ',
        h('strong', {}, e.mode ?? 'ALLOW_ANY (default)'),
        e.mode === 'REGISTRY_ONLY' ? ': only the hosts below leave the mesh.' : '.',
      ),
      h(
        'p',
        {},
        'Allowed hosts (ServiceEntry): ',
        e.allowedHosts.length === 0 ? 'none' : e.allowedHosts.join(', '),
      ),
    );
    replace(
      this.#empty,
      e.rows.length === 0
        ? emptyState(
            'No egress requests counted yet',
            h(
              'span',
              {},
              'Requests to external hosts appear here, allowed or denied. Try ',
              h('code', {}, state.tryCommand),
              ' (the demo calls api.partner.example).',
            ),
          )
        : null,
    );
    this.#table.el.hidden = e.rows.length === 0;
    syncRows(
      this.#table.body,
      e.rows.map((r) => ({
        key: `${r.host}|${r.allowed}|${r.reason ?? ''}|${r.proxy}`,
        className: r.allowed ? '' : 'denied-row',
        cells: [
          text(r.host, 'mono'),
          text(
            r.allowed ? 'allowed' : 'denied',
            r.allowed ? 'badge-cell verdict-allowed' : 'badge-cell verdict-denied',
          ),
          text(r.reason ?? '–'),
          text(`${r.proxy} (${r.workload})`),
          text(String(r.total), 'num'),
          text(rate(r.rps), 'num'),
        ],
      })),
    );
  }
}
