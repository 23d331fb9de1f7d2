// The proxy list: every proxy's role, workload, config version, sync status (with a NACK's error), last
// push latency, endpoint health per cluster and, once the mesh issues them, its certificate's expiry.
import type { ConsoleState, ProxyView } from '@strait/api/console';
import { type Cell, emptyState, h, link, replace, syncRows, table, text } from '../dom.ts';
import { relative, shortVersion } from '../format.ts';

export function statusCell(p: ProxyView): Cell {
  const label = p.connected ? p.status : `${p.status} (disconnected)`;
  const nack = p.status === 'NACKED' ? p.lastNack?.error : undefined;
  return {
    sig: `status|${label}|${nack ?? ''}`,
    render: () => [
      h('span', { class: `badge status-${p.status.toLowerCase()}` }, label),
      nack ? h('div', { class: 'nack' }, `rejected ${shortVersion(p.lastNack?.version)}: ${nack}`) : null,
    ],
  };
}

function endpointsCell(p: ProxyView): Cell {
  const sig = p.clusters.map((c) => `${c.cluster}=${c.healthy}/${c.total}`).join(',');
  return {
    sig: `eps|${sig}`,
    render: () =>
      p.clusters.length === 0
        ? h('span', { class: 'hint' }, 'not read yet')
        : h(
            'ul',
            { class: 'chips' },
            ...p.clusters.map((c) =>
              h(
                'li',
                { class: c.healthy < c.total ? (c.healthy === 0 ? 'chip bad' : 'chip warn') : 'chip' },
                h('span', { class: 'chip-name' }, c.cluster),
                ` ${c.healthy}/${c.total}`,
              ),
            ),
          ),
  };
}

export class ProxiesPage {
  readonly el: HTMLElement;
  readonly #summary = h('p', { class: 'summary' });
  readonly #empty = h('div');
  readonly #table = table('Proxies', [
    'Proxy',
    'Role',
    'Workload',
    'Status',
    'Config version',
    'Last push',
    'Endpoints (healthy/total per cluster)',
    'Certificate expires',
  ]);
  readonly #certNote = h('p', { class: 'hint' });

  constructor() {
    this.el = h(
      'section',
      { class: 'page scroll', 'aria-labelledby': 'proxies-title' },
      h('h1', { id: 'proxies-title' }, 'Proxies'),
      this.#summary,
      this.#empty,
      this.#table.el,
      this.#certNote,
    );
  }

  update(state: ConsoleState): void {
    const proxies = state.proxies;
    const counts = ['SYNCED', 'STALE', 'NACKED'].map(
      (s) => `${proxies.filter((p) => p.status === s).length} ${s}`,
    );
    replace(
      this.#summary,
      `${proxies.length} proxies: ${counts.join(', ')}. Select a proxy for its routes, clusters and endpoints.`,
    );
    replace(
      this.#empty,
      proxies.length === 0
        ? emptyState(
            'No proxy has connected to this control plane',
            'Proxies appear here when they open their discovery stream, e.g. after ',
            h('code', {}, 'npm start'),
            '.',
          )
        : null,
    );
    this.#table.el.hidden = proxies.length === 0;
    const anyCert = proxies.some((p) => p.certificateExpiresAt);
    this.#table.el.classList.toggle('no-certificates', !anyCert);
    replace(
      this.#certNote,
      anyCert || proxies.length === 0
        ? null
        : "Certificates: none issued (mTLS is not enabled in this mesh); once it is, each proxy's certificate expiry shows in the table.",
    );
    syncRows(
      this.#table.body,
      proxies.map((p) => ({
        key: p.id,
        cells: [
          link(p.id, `#/proxies/${encodeURIComponent(p.id)}`),
          text(p.role),
          text(p.workload),
          statusCell(p),
          text(
            p.wantedVersion && p.wantedVersion !== p.ackedVersion
              ? `${shortVersion(p.ackedVersion)} → ${shortVersion(p.wantedVersion)}`
              : shortVersion(p.ackedVersion),
            'mono',
          ),
          text(p.lastPushLatencyMs === undefined ? '–' : `${p.lastPushLatencyMs} ms`, 'num'),
          endpointsCell(p),
          text(
            p.certificateExpiresAt ? relative(p.certificateExpiresAt) : anyCert ? '–' : 'no mTLS yet',
            'hint-cell',
          ),
        ],
      })),
    );
  }
}
