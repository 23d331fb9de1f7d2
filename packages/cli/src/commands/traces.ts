// straitctl traces: recent traces from the control plane's trace store, and one trace drawn as a waterfall
// (each span on its hop, indented under its parent, with a bar on the trace's time line).
import { ApiPaths, type TraceDetail, type TraceList, tracePath, waterfall } from '@strait/api';
import type { ControlPlaneClient } from '../client.ts';
import { type Io, table } from '../output.ts';

export interface TracesOptions {
  service?: string;
  id?: string;
  minDuration?: string;
  limit?: string;
  output?: string;
}

const BAR_WIDTH = 40;

const ms = (value: number): string => `${value < 10 ? value.toFixed(2) : value.toFixed(1)}ms`;

/** A span's bar: its start and length on a line of BAR_WIDTH characters. */
function bar(offsetMs: number, durationMs: number, totalMs: number): string {
  const scale = totalMs > 0 ? BAR_WIDTH / totalMs : 0;
  const from = Math.min(BAR_WIDTH - 1, Math.floor(offsetMs * scale));
  const width = Math.max(1, Math.min(BAR_WIDTH - from, Math.round(durationMs * scale)));
  return `${' '.repeat(from)}${'█'.repeat(width)}${' '.repeat(BAR_WIDTH - from - width)}`;
}

/** The waterfall of one trace, as text. */
export function formatWaterfall(detail: TraceDetail): string {
  const { rows, totalMs } = waterfall(detail);
  const services = new Set(detail.spans.map((s) => s.service)).size;
  const head = `trace ${detail.traceId}: ${detail.spans.length} spans over ${services} services, ${ms(totalMs)}\n`;
  const lines = rows.map(({ span, depth, offsetMs }) => [
    `${'  '.repeat(depth)}${span.kind === 'client' ? '→' : '●'} ${span.service}`,
    span.name,
    span.attributes['http.status_code'] ?? '-',
    span.error ? 'ERROR' : '',
    ms(offsetMs),
    ms(span.durationMs),
    `|${bar(offsetMs, span.durationMs, totalMs)}|`,
  ]);
  return `${head}${table(['SERVICE', 'SPAN', 'CODE', '', 'START', 'DURATION', 'TIMELINE'], lines)}`;
}

export async function traces(client: ControlPlaneClient, io: Io, o: TracesOptions): Promise<number> {
  if (o.id) {
    const detail = (await client.request('GET', tracePath(o.id))) as TraceDetail;
    io.out(o.output === 'json' ? `${JSON.stringify(detail, null, 2)}\n` : formatWaterfall(detail));
    return 0;
  }
  const query = new URLSearchParams();
  if (o.service) query.set('service', o.service);
  if (o.minDuration) query.set('minDurationMs', o.minDuration);
  query.set('limit', o.limit ?? '10');
  const { traces: list } = (await client.request('GET', `${ApiPaths.traces}?${query}`)) as TraceList;
  if (o.output === 'json') {
    io.out(`${JSON.stringify(list, null, 2)}\n`);
    return 0;
  }
  if (list.length === 0) {
    io.err(
      'No traces yet. Tracing is set by a Telemetry resource (telemetry.istio.io/v1) naming a MeshConfig ' +
        'extensionProvider; send a request through the mesh and try again.\n',
    );
    return 0;
  }
  const rows = list.map((t) => [
    t.traceId,
    `${t.rootService} ${t.rootName}`,
    t.spanCount,
    ms(t.durationMs),
    new Date(t.startMs).toISOString(),
    t.error ? 'ERROR' : '',
  ]);
  io.out(table(['TRACE', 'ROOT', 'SPANS', 'DURATION', 'STARTED', ''], rows));
  const newest = list[0];
  if (newest) {
    io.out('\n');
    io.out(formatWaterfall((await client.request('GET', tracePath(newest.traceId))) as TraceDetail));
  }
  return 0;
}
