// Small builders for Grafana dashboard JSON (schema 39): panels, rows, targets and query variables.
// Every query goes to the provisioned Prometheus datasource (uid "prometheus").

export const Datasource = { type: 'prometheus', uid: 'prometheus' } as const;

export interface Query {
  expr: string;
  legend?: string;
}

export interface PanelSpec {
  title: string;
  description?: string;
  kind: 'timeseries' | 'stat';
  unit?: string;
  queries: Query[];
  /** Width in grid columns (24 per row); default 12. */
  width?: number;
  height?: number;
  /** Stat panels: thresholds as [value, color] after a base color. */
  thresholds?: { base: string; steps: [number, string][] };
  decimals?: number;
  min?: number;
  max?: number;
}

export interface RowSpec {
  title: string;
  panels: PanelSpec[];
}

export interface VariableSpec {
  name: string;
  label: string;
  /** A Grafana `label_values(metric{…}, label)` query. */
  query: string;
  /** The value selected when the dashboard opens. */
  current: string;
}

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  variables?: VariableSpec[];
  rows: RowSpec[];
}

type Json = Record<string, unknown>;

function panelJson(spec: PanelSpec, id: number, x: number, y: number): Json {
  const width = spec.width ?? 12;
  const height = spec.height ?? (spec.kind === 'stat' ? 4 : 8);
  const defaults: Json = { unit: spec.unit ?? 'short' };
  if (spec.decimals !== undefined) defaults.decimals = spec.decimals;
  if (spec.min !== undefined) defaults.min = spec.min;
  if (spec.max !== undefined) defaults.max = spec.max;
  if (spec.thresholds) {
    defaults.thresholds = {
      mode: 'absolute',
      steps: [
        { color: spec.thresholds.base, value: null },
        ...spec.thresholds.steps.map(([value, color]) => ({ color, value })),
      ],
    };
  }
  if (spec.kind === 'timeseries') {
    defaults.custom = {
      drawStyle: 'line',
      lineWidth: 1,
      fillOpacity: 10,
      showPoints: 'never',
      spanNulls: true,
    };
  }
  const options: Json =
    spec.kind === 'stat'
      ? {
          reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
          colorMode: 'value',
          graphMode: 'area',
          textMode: 'auto',
        }
      : {
          legend: {
            displayMode: 'table',
            placement: 'bottom',
            calcs: ['mean', 'lastNotNull', 'max'],
            showLegend: true,
          },
          tooltip: { mode: 'multi', sort: 'desc' },
        };
  return {
    id,
    type: spec.kind,
    title: spec.title,
    ...(spec.description ? { description: spec.description } : {}),
    datasource: Datasource,
    gridPos: { h: height, w: width, x, y },
    fieldConfig: { defaults, overrides: [] },
    options,
    targets: spec.queries.map((q, i) => ({
      refId: String.fromCharCode(65 + i),
      datasource: Datasource,
      expr: q.expr,
      legendFormat: q.legend ?? '__auto',
      range: true,
      instant: false,
    })),
  };
}

function variableJson(v: VariableSpec): Json {
  return {
    name: v.name,
    label: v.label,
    type: 'query',
    datasource: Datasource,
    definition: v.query,
    query: { query: v.query, refId: 'StandardVariableQuery', qryType: 1 },
    current: { selected: true, text: v.current, value: v.current },
    refresh: 2,
    includeAll: false,
    multi: false,
    sort: 1,
    hide: 0,
    options: [],
  };
}

/** The whole dashboard: rows laid out top to bottom, panels left to right, wrapping at 24 columns. */
export function dashboardJson(spec: DashboardSpec): Json {
  const panels: Json[] = [];
  let id = 1;
  let y = 0;
  for (const row of spec.rows) {
    panels.push({
      id: id++,
      type: 'row',
      title: row.title,
      collapsed: false,
      gridPos: { h: 1, w: 24, x: 0, y },
      panels: [],
    });
    y += 1;
    let x = 0;
    let rowHeight = 0;
    for (const panel of row.panels) {
      const width = panel.width ?? 12;
      const height = panel.height ?? (panel.kind === 'stat' ? 4 : 8);
      if (x + width > 24) {
        x = 0;
        y += rowHeight;
        rowHeight = 0;
      }
      panels.push(panelJson(panel, id++, x, y));
      x += width;
      rowHeight = Math.max(rowHeight, height);
    }
    y += rowHeight;
  }
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: ['strait', 'istio'],
    timezone: 'browser',
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: '5s',
    time: { from: 'now-15m', to: 'now' },
    timepicker: {},
    annotations: { list: [] },
    links: [
      {
        type: 'dashboards',
        tags: ['strait'],
        asDropdown: true,
        title: 'Strait dashboards',
        includeVars: false,
        keepTime: true,
      },
    ],
    templating: { list: (spec.variables ?? []).map(variableJson) },
    panels,
  };
}

/** Every PromQL expression in a dashboard's JSON: panel targets and query variables. */
export function expressionsOf(dashboard: Json): { title: string; expr: string }[] {
  const out: { title: string; expr: string }[] = [];
  const visit = (panels: unknown): void => {
    for (const p of (panels as Json[] | undefined) ?? []) {
      for (const t of (p.targets as Json[] | undefined) ?? []) {
        if (typeof t.expr === 'string') out.push({ title: String(p.title), expr: t.expr });
      }
      visit(p.panels);
    }
  };
  visit(dashboard.panels);
  return out;
}
