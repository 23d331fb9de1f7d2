// The service graph page: cytoscape draws the nodes and edges (dagre lays them out top to bottom), the
// side panel says where the numbers come from, explains the colours, details the selected element and
// lists every edge as a table (the keyboard's way into the graph).
import type { ConsoleState, GraphEdge, GraphNode, Health } from '@strait/api/console';
import cytoscape, { type Core, type ElementDefinition } from 'cytoscape';
import dagre from 'cytoscape-dagre';
import { type Cell, emptyState, h, replace, syncRows, table, text } from '../dom.ts';
import { ms, percent, rate } from '../format.ts';

cytoscape.use(dagre);

const COLORS: Record<Health | 'denied', string> = {
  healthy: '#2e7d32',
  degraded: '#e65100',
  failing: '#c62828',
  idle: '#8a8f98',
  denied: '#c62828',
};

const KIND_NAMES: Record<GraphNode['kind'], string> = {
  ingress: 'ingress gateway',
  egress: 'egress gateway',
  workload: 'service version',
  external: 'external host (ServiceEntry)',
  denied: 'denied egress destination',
};

export function edgeLabel(e: GraphEdge): string {
  if (e.denied) return `denied ${e.denied.total}${e.rps > 0 ? ` · ${rate(e.rps)}/s` : ''}`;
  const lock = e.mtls ? 'mTLS · ' : '';
  if (e.rps <= 0) return `${lock}idle`;
  return `${lock}${rate(e.rps)} rps · ${percent(e.errorRate)} 5xx\np99 ${ms(e.p99Ms)}`;
}

function nodeLabel(n: GraphNode): string {
  const lines = [n.label];
  if (n.kind === 'denied') lines.push('denied');
  if (n.endpoints) lines.push(`${n.endpoints.healthy}/${n.endpoints.total} endpoints healthy`);
  return lines.join('\n');
}

function nodeElement(n: GraphNode): ElementDefinition {
  const label = nodeLabel(n);
  const longest = Math.max(...label.split('\n').map((l) => l.length));
  return {
    group: 'nodes',
    data: {
      id: n.id,
      label,
      kind: n.kind,
      color: n.kind === 'denied' ? COLORS.denied : COLORS[n.health],
      w: Math.max(110, longest * 7.4 + 26),
      hgt: 22 + label.split('\n').length * 15,
    },
  };
}

function edgeElement(e: GraphEdge): ElementDefinition {
  return {
    group: 'edges',
    data: {
      id: e.id,
      source: e.source,
      target: e.target,
      label: edgeLabel(e),
      color: e.denied ? COLORS.denied : COLORS[e.health],
      width: e.rps > 0 ? Math.min(6, 1.5 + Math.log10(1 + e.rps) * 2) : 1.5,
      style: e.denied ? 'dashed' : 'solid',
    },
  };
}

const STYLE: cytoscape.StylesheetJson = [
  {
    selector: 'node',
    style: {
      shape: 'round-rectangle',
      width: 'data(w)',
      height: 'data(hgt)',
      'background-color': '#ffffff',
      'border-width': 2,
      'border-color': 'data(color)',
      label: 'data(label)',
      'text-wrap': 'wrap',
      'text-valign': 'center',
      'text-halign': 'center',
      'font-size': 13,
      'font-family': 'system-ui, sans-serif',
      color: '#1d232b',
    },
  },
  {
    selector: 'node[kind = "ingress"], node[kind = "egress"]',
    style: { 'background-color': '#e8eefb', shape: 'cut-rectangle' },
  },
  { selector: 'node[kind = "external"]', style: { 'background-color': '#f2f3f5', 'border-style': 'dashed' } },
  { selector: 'node[kind = "denied"]', style: { 'background-color': '#fdecea', 'border-style': 'dashed' } },
  {
    selector: 'edge',
    style: {
      width: 'data(width)',
      'line-color': 'data(color)',
      'line-style': 'data(style)' as 'solid',
      'target-arrow-color': 'data(color)',
      'target-arrow-shape': 'triangle',
      'curve-style': 'bezier',
      label: 'data(label)',
      'text-wrap': 'wrap',
      'font-size': 12,
      'font-family': 'system-ui, sans-serif',
      color: '#1d232b',
      'text-background-color': '#ffffff',
      'text-background-opacity': 0.9,
      'text-background-padding': '2px',
      'text-border-width': 1,
      'text-border-color': '#d8dce2',
      'text-border-opacity': 1,
    },
  },
  {
    selector: ':selected',
    style: { 'overlay-color': '#1f4e9c', 'overlay-opacity': 0.18, 'overlay-padding': 6 },
  },
];

export class GraphPage {
  readonly el: HTMLElement;
  readonly #canvas = h('div', { class: 'graph-canvas', role: 'img', 'aria-label': 'Service graph' });
  readonly #overlay = h('div', { class: 'graph-overlay' });
  readonly #source = h('p', { class: 'source' });
  readonly #problems = h('ul', { class: 'problems' });
  readonly #detail = h('div', { class: 'detail', 'aria-live': 'polite' });
  readonly #edges = table('Edges of the service graph', ['From → to', 'rps', '5xx', 'p99'], 'edges');
  #cy: Core | undefined;
  #structure = '';
  #state: ConsoleState | undefined;
  #selected: string | undefined;

  constructor() {
    this.el = h(
      'section',
      { class: 'page graph-page', 'aria-labelledby': 'graph-title' },
      h('div', { class: 'graph-main' }, this.#canvas, this.#overlay),
      h(
        'aside',
        { class: 'side' },
        h('h1', { id: 'graph-title' }, 'Service graph'),
        this.#source,
        this.#problems,
        legend(),
        this.#detail,
        h('h2', {}, 'Edges'),
        this.#edges.el,
      ),
    );
  }

  /** Keeps the drawing fitted when the canvas changes size (window, or the connection banner). */
  readonly #resize = new ResizeObserver(() => {
    if (!this.#cy || this.el.hidden) return;
    this.#cy.resize();
    this.#cy.fit(undefined, 30);
  });

  /** The cytoscape instance, once drawn (tests and curious users read it from the console handle). */
  get cy(): Core | undefined {
    return this.#cy;
  }

  /** Called when the page becomes visible: cytoscape needs a sized container. */
  shown(): void {
    if (this.#cy) {
      this.#cy.resize();
      this.#cy.fit(undefined, 30);
    } else if (this.#state) this.update(this.#state);
  }

  update(state: ConsoleState): void {
    this.#state = state;
    const t = state.traffic;
    replace(this.#source, `Traffic ${t.detail}; rates over the last ${t.windowSeconds} s.`);
    replace(this.#problems, ...t.problems.map((p) => h('li', {}, p)));
    this.#updateOverlay(state);
    this.#updateTable(state);
    this.#draw(state);
    this.#showDetail();
  }

  #updateOverlay(state: ConsoleState): void {
    const { nodes, edges } = state.graph;
    if (nodes.length === 0)
      replace(
        this.#overlay,
        emptyState(
          'No proxies are connected yet',
          'Start the demo mesh with ',
          h('code', {}, 'npm start'),
          ' or point proxies at this control plane; they appear here as they connect.',
        ),
      );
    else if (edges.length === 0)
      replace(
        this.#overlay,
        emptyState(
          'No traffic yet',
          h('span', {}, 'Try ', h('code', {}, state.tryCommand), ' — edges appear within a few seconds.'),
        ),
      );
    else replace(this.#overlay);
    this.#overlay.hidden = this.#overlay.childElementCount === 0;
  }

  #updateTable(state: ConsoleState): void {
    const names = new Map(state.graph.nodes.map((n) => [n.id, n.label]));
    const rows = state.graph.edges.map((e) => {
      const label = `${names.get(e.source) ?? e.source} → ${names.get(e.target) ?? e.target}`;
      const select: Cell = {
        sig: `sel|${label}|${e.id === this.#selected}`,
        render: () => {
          const b = h(
            'button',
            { type: 'button', class: 'linklike', 'aria-pressed': String(e.id === this.#selected) },
            label,
          );
          b.addEventListener('click', () => this.#select(e.id));
          return b;
        },
      };
      return {
        key: e.id,
        className: `health-${e.denied ? 'denied' : e.health}`,
        cells: [
          select,
          text(e.denied ? `denied ${e.denied.total}` : rate(e.rps), 'num'),
          text(e.denied ? '–' : percent(e.errorRate), 'num'),
          text(e.denied ? '–' : ms(e.p99Ms), 'num'),
        ],
      };
    });
    syncRows(this.#edges.body, rows);
  }

  #draw(state: ConsoleState): void {
    if (this.el.hidden || !this.el.isConnected) return;
    const elements = [...state.graph.nodes.map(nodeElement), ...state.graph.edges.map(edgeElement)];
    const structure = elements.map((e) => e.data.id).join(' ');
    if (!this.#cy) {
      this.#cy = cytoscape({
        container: this.#canvas,
        elements,
        style: STYLE,
        minZoom: 0.3,
        maxZoom: 2,
        boxSelectionEnabled: false,
      });
      this.#resize.observe(this.#canvas);
      this.#cy.on('tap', 'node, edge', (event) => this.#select(event.target.id() as string));
      this.#cy.on('tap', (event) => {
        if (event.target === this.#cy) this.#select(undefined);
      });
      this.#layout();
      this.#structure = structure;
      return;
    }
    const cy = this.#cy;
    cy.batch(() => {
      const wanted = new Set(elements.map((e) => e.data.id as string));
      cy.elements().forEach((el) => {
        if (!wanted.has(el.id())) cy.remove(el);
      });
      for (const def of elements) {
        const el = cy.getElementById(def.data.id as string);
        if (el.nonempty()) el.data(def.data);
        else cy.add(def);
      }
    });
    if (structure !== this.#structure) {
      this.#structure = structure;
      this.#layout();
    }
  }

  #layout(): void {
    this.#cy
      ?.layout({
        name: 'dagre',
        rankDir: 'TB',
        rankSep: 80,
        nodeSep: 70,
        edgeSep: 30,
        padding: 30,
        fit: true,
      } as cytoscape.LayoutOptions)
      .run();
  }

  #select(id: string | undefined): void {
    this.#selected = id;
    if (this.#cy) {
      this.#cy.elements().unselect();
      if (id) this.#cy.getElementById(id).select();
    }
    if (this.#state) this.#updateTable(this.#state);
    this.#showDetail();
  }

  #showDetail(): void {
    const state = this.#state;
    const id = this.#selected;
    const node = state?.graph.nodes.find((n) => n.id === id);
    const edge = state?.graph.edges.find((e) => e.id === id);
    if (node) {
      replace(
        this.#detail,
        h('h2', {}, node.label),
        h(
          'dl',
          {},
          h('dt', {}, 'What'),
          h('dd', {}, KIND_NAMES[node.kind]),
          h('dt', {}, 'Requests in'),
          h('dd', {}, `${rate(node.rps)} per second`),
          node.endpoints && h('dt', {}, 'Endpoints'),
          node.endpoints &&
            h(
              'dd',
              {},
              `${node.endpoints.healthy} of ${node.endpoints.total} healthy (as its callers see them)`,
            ),
        ),
      );
    } else if (edge && state) {
      const names = new Map(state.graph.nodes.map((n) => [n.id, n.label]));
      replace(
        this.#detail,
        h('h2', {}, `${names.get(edge.source)} → ${names.get(edge.target)}`),
        edge.denied
          ? h(
              'p',
              {},
              `${edge.denied.total} requests refused by the egress policy (${edge.denied.reasons.join(', ')}).`,
            )
          : h(
              'dl',
              {},
              h('dt', {}, 'Requests'),
              h('dd', {}, `${rate(edge.rps)} per second`),
              h('dt', {}, '5xx'),
              h('dd', {}, percent(edge.errorRate)),
              h('dt', {}, 'p99 latency'),
              h('dd', {}, ms(edge.p99Ms)),
              h('dt', {}, 'mTLS'),
              h('dd', {}, edge.mtls ? 'yes: the destination saw mutual TLS' : 'no (plain text)'),
            ),
      );
    } else
      replace(
        this.#detail,
        h('p', { class: 'hint' }, 'Select a node or an edge (click it, or use the Edges table) for details.'),
      );
  }
}

function legend(): HTMLElement {
  const item = (color: string, label: string, dashed = false) =>
    h(
      'li',
      {},
      h('span', { class: `swatch${dashed ? ' dashed' : ''}`, style: `border-color: ${color}` }),
      label,
    );
  return h(
    'ul',
    { class: 'legend', 'aria-label': 'Legend' },
    item(COLORS.healthy, 'healthy'),
    item(COLORS.degraded, 'some 5xx, or an endpoint down'),
    item(COLORS.failing, '≥ 10% 5xx, or no endpoint up'),
    item(COLORS.idle, 'no requests in the window'),
    item(COLORS.denied, 'refused by the egress policy', true),
  );
}
