// The traces page: recent traces from the control plane's store (filtered by service), and one trace drawn
// as a waterfall: each span on its hop, indented under its parent, its bar placed on the trace's time line,
// errors in red; a span opens to show its attributes (Envoy's tags).
import {
  ConsolePaths,
  type TraceDetail,
  type TraceList,
  type TraceSpan,
  waterfall,
} from '@strait/api/console';
import { emptyState, h, link, replace, syncRows, table, text } from '../dom.ts';
import { ms } from '../format.ts';

/** The list is read again at most this often while the page is open. */
const LIST_REFRESH_MS = 2000;

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return (await res.json()) as T;
}

const hop = (span: TraceSpan): string => span.service.split('.')[0] ?? span.service;

export class TracesPage {
  readonly el: HTMLElement;
  readonly #filter = h('input', {
    id: 'trace-service',
    type: 'search',
    placeholder: 'service-a',
    autocomplete: 'off',
  });
  readonly #empty = h('div');
  readonly #list = table('Recent traces', ['Trace', 'Root', 'Services', 'Spans', 'Duration', 'Started']);
  readonly #detail = h('section', { class: 'trace-detail', 'aria-live': 'polite' });
  #shownId: string | undefined;
  #lastList = 0;

  constructor() {
    this.el = h(
      'section',
      { class: 'page scroll', 'aria-labelledby': 'traces-title' },
      h('h1', { id: 'traces-title' }, 'Traces'),
      h(
        'form',
        { class: 'filters', role: 'search' },
        h('label', { for: 'trace-service' }, 'Service '),
        this.#filter,
      ),
      this.#detail,
      this.#empty,
      this.#list.el,
    );
    this.#filter.addEventListener('input', () => void this.#loadList(true));
    this.el.querySelector('form')?.addEventListener('submit', (e) => e.preventDefault());
  }

  /** Opens the page, on one trace when `traceId` is given. */
  show(traceId: string | undefined): void {
    void this.#loadList(true);
    if (traceId !== this.#shownId) {
      this.#shownId = traceId;
      if (traceId) void this.#loadTrace(traceId);
      else replace(this.#detail);
    }
  }

  /** Called on every live update while the page is open: the list follows new traces. */
  refresh(): void {
    void this.#loadList(false);
  }

  async #loadList(now: boolean): Promise<void> {
    if (!now && Date.now() - this.#lastList < LIST_REFRESH_MS) return;
    this.#lastList = Date.now();
    const query = new URLSearchParams({ limit: '30' });
    const service = this.#filter.value.trim();
    if (service) query.set('service', service);
    let list: TraceList;
    try {
      list = await getJson<TraceList>(`${ConsolePaths.traces}?${query}`);
    } catch {
      return; // the live link shows a lost connection already
    }
    replace(
      this.#empty,
      list.traces.length === 0
        ? emptyState(
            service ? `No traces through ${service} yet` : 'No traces yet',
            'Spans arrive when a Telemetry resource (telemetry.istio.io/v1) names a MeshConfig extension provider that points at this control plane; the demo traces every request.',
            h(
              'span',
              {},
              'Send a request through the ingress, e.g. ',
              h('code', {}, 'curl -s localhost:8080/'),
              '.',
            ),
          )
        : null,
    );
    this.#list.el.hidden = list.traces.length === 0;
    syncRows(
      this.#list.body,
      list.traces.map((t) => ({
        key: t.traceId,
        className: `${t.error ? 'denied-row' : ''}${t.traceId === this.#shownId ? ' selected' : ''}`,
        cells: [
          link(t.traceId.slice(0, 16), `#/traces/${t.traceId}`),
          text(`${t.rootService} ${t.rootName}`),
          text(t.services.map((s) => s.split('.')[0]).join(', ')),
          text(String(t.spanCount), 'num'),
          text(ms(t.durationMs), 'num'),
          text(new Date(t.startMs).toLocaleTimeString([], { hour12: false })),
        ],
      })),
    );
  }

  async #loadTrace(traceId: string): Promise<void> {
    let detail: TraceDetail;
    try {
      detail = await getJson<TraceDetail>(`${ConsolePaths.traces}/${encodeURIComponent(traceId)}`);
    } catch {
      replace(
        this.#detail,
        emptyState('Trace not found', `Trace ${traceId} is not (or no longer) in the store.`),
      );
      return;
    }
    if (this.#shownId !== traceId) return;
    this.#drawWaterfall(detail);
  }

  #drawWaterfall(detail: TraceDetail): void {
    const { rows, totalMs } = waterfall(detail);
    const scale = totalMs > 0 ? 100 / totalMs : 0;
    const hops = new Set(detail.spans.map(hop)).size;
    replace(
      this.#detail,
      h('h2', {}, `Trace ${detail.traceId}`),
      h('p', { class: 'summary' }, `${detail.spans.length} spans over ${hops} services, ${ms(totalMs)}`),
      h(
        'ol',
        { class: 'waterfall', 'aria-label': `Spans of trace ${detail.traceId}` },
        ...rows.map(({ span, depth, offsetMs }) =>
          h(
            'li',
            {
              class: `wf-row${span.error ? ' error' : ''}`,
              'data-span': span.spanId,
              'data-parent': span.parentSpanId,
              'data-service': hop(span),
              'data-kind': span.kind,
            },
            h(
              'details',
              {},
              h(
                'summary',
                {},
                h(
                  'span',
                  { class: 'wf-label', style: `padding-left: ${depth * 0.9}em` },
                  h('span', { class: `wf-kind ${span.kind}` }, span.kind === 'client' ? '→' : '●'),
                  h('strong', {}, hop(span)),
                  ` ${span.name}`,
                  span.attributes['http.status_code'] ? ` · ${span.attributes['http.status_code']}` : '',
                ),
                h(
                  'span',
                  { class: 'wf-track' },
                  h('span', {
                    class: 'wf-bar',
                    style: `left: ${(offsetMs * scale).toFixed(3)}%; width: ${Math.max(0.3, span.durationMs * scale).toFixed(3)}%`,
                  }),
                ),
                h('span', { class: 'wf-dur num' }, ms(span.durationMs)),
              ),
              h(
                'dl',
                { class: 'wf-attrs' },
                ...Object.entries(span.attributes)
                  .sort(([a], [b]) => a.localeCompare(b))
                  .flatMap(([k, v]) => [h('dt', {}, k), h('dd', { class: 'mono' }, v)]),
              ),
            ),
          ),
        ),
      ),
    );
  }
}
