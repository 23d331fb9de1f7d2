// One proxy's page: what `straitctl proxy-config all` prints (routes, clusters, endpoints), with each
// endpoint's health as the proxy itself sees it when its admin port is reachable.
import { ConsolePaths, type ConsoleState, type ProxyDetail } from '@strait/api/console';
import { emptyState, h, replace, syncRows, table, text } from '../dom.ts';
import { shortVersion } from '../format.ts';
import { fetchJson } from '../live.ts';
import { statusCell } from './proxies.ts';

export class ProxyPage {
  readonly el: HTMLElement;
  readonly #title = h('h1', { id: 'proxy-title' });
  readonly #facts = h('dl', { class: 'facts' });
  readonly #note = h('p', { class: 'hint' });
  readonly #routes = table('Routes', ['Listener', 'Virtual host', 'Domains', 'Match', 'Route', 'Clusters']);
  readonly #clusters = table('Clusters and endpoints', [
    'Cluster',
    'LB',
    'Health check',
    'Healthy',
    'Endpoint',
    'Health',
    'Weight',
    'Labels',
  ]);
  readonly #body = h('div');
  #id: string | undefined;
  #loading: Promise<void> | undefined;

  constructor() {
    this.el = h(
      'section',
      { class: 'page scroll', 'aria-labelledby': 'proxy-title' },
      h('p', {}, h('a', { href: '#/proxies' }, '← All proxies')),
      this.#title,
      this.#body,
    );
  }

  show(id: string): void {
    if (id !== this.#id) {
      this.#id = id;
      replace(this.#title, id);
      replace(this.#body, h('p', { class: 'hint' }, 'Loading…'));
    }
    this.refresh();
  }

  /** Re-reads the proxy (each live update calls this while the page is open). */
  refresh(_state?: ConsoleState): void {
    const id = this.#id;
    if (!id || this.#loading) return;
    this.#loading = fetchJson<ProxyDetail>(`${ConsolePaths.proxy}${encodeURIComponent(id)}`)
      .then(
        (detail) => {
          if (this.#id === id) this.#render(detail);
        },
        (err: Error) => {
          if (this.#id === id)
            replace(
              this.#body,
              emptyState(
                `No proxy "${id}"`,
                `${err.message}. It may have disconnected; the proxy list shows who is connected.`,
              ),
            );
        },
      )
      .finally(() => {
        this.#loading = undefined;
      });
  }

  #render(d: ProxyDetail): void {
    const p = d.proxy;
    const status = statusCell(p);
    const statusNode = h('dd', {});
    const content = status.render();
    statusNode.append(
      ...(Array.isArray(content) ? content : [content]).filter((c): c is Node | string => !!c),
    );
    replace(
      this.#facts,
      h('dt', {}, 'Role'),
      h('dd', {}, p.role),
      h('dt', {}, 'Workload'),
      h('dd', {}, `${p.workload}${p.address ? ` at ${p.address}` : ''}`),
      h('dt', {}, 'Status'),
      statusNode,
      h('dt', {}, 'Config version'),
      h(
        'dd',
        { class: 'mono' },
        `${shortVersion(p.ackedVersion)}${p.wantedVersion && p.wantedVersion !== p.ackedVersion ? ` (wanted ${shortVersion(p.wantedVersion)})` : ''}`,
      ),
      h('dt', {}, 'Last push'),
      h('dd', {}, p.lastPushLatencyMs === undefined ? '–' : `${p.lastPushLatencyMs} ms to ACK`),
    );
    replace(
      this.#note,
      d.endpointSource === 'proxy'
        ? 'Endpoint health as this proxy sees it now (its admin /clusters).'
        : (d.endpointNote ?? ''),
    );
    syncRows(
      this.#routes.body,
      d.routes.map((r, i) => ({
        key: `${i}|${r.listener}|${r.route}`,
        cells: [
          text(r.listener),
          text(r.virtualHost),
          text(r.domains.join(', ')),
          text(r.match, 'mono'),
          text(r.route),
          text(r.target, 'mono'),
        ],
      })),
    );
    const rows = d.clusters.flatMap((c) => {
      const first = [
        text(c.name, 'mono'),
        text(c.lbPolicy),
        text(c.healthCheck ?? '–'),
        text(
          c.healthy === undefined ? '–' : `${c.healthy}/${c.total}`,
          c.healthy !== undefined && c.healthy < (c.total ?? 0) ? 'num warn' : 'num',
        ),
      ];
      const blank = [text(''), text(''), text(''), text('')];
      if (c.endpoints.length === 0)
        return [
          { key: c.name, cells: [...first, text('no endpoints', 'hint-cell'), text(''), text(''), text('')] },
        ];
      return c.endpoints.map((e, i) => ({
        key: `${c.name}|${e.address}:${e.port}`,
        className: i === 0 ? 'group-start' : '',
        cells: [
          ...(i === 0 ? first : blank),
          text(`${e.address}:${e.port}`, 'mono'),
          text(e.health, `badge-cell health-${e.health.toLowerCase()}`),
          text(String(e.weight), 'num'),
          text(
            Object.entries(e.labels)
              .map(([k, v]) => `${k}=${v}`)
              .join(', ') || '–',
          ),
        ],
      }));
    });
    syncRows(this.#clusters.body, rows);
    if (!this.#body.contains(this.#facts))
      replace(
        this.#body,
        this.#facts,
        h('h2', {}, 'Routes'),
        this.#routes.el,
        h('h2', {}, 'Clusters and endpoints'),
        this.#note,
        this.#clusters.el,
      );
  }
}
