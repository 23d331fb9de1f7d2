// A snapshot's routes as rows, the way `straitctl proxy-config routes` and the console's proxy page show
// them: one row per route, with its listener, virtual host, match and weighted clusters.
import type { SnapshotInput, StringMatch } from './snapshot.ts';

export interface RouteRow {
  listener: string;
  virtualHost: string;
  domains: string[];
  match: string;
  route: string;
  /** "outbound|80|v1|service-b 90%, outbound|80|v2|service-b 10%", one cluster alone, or "direct 404". */
  target: string;
}

/** `exact`, `prefix*`, `~regex`, or `*` for no path match. */
export function matchText(m: StringMatch | undefined): string {
  if (!m) return '*';
  if ('exact' in m) return m.exact;
  if ('prefix' in m) return `${m.prefix}*`;
  return `~${m.regex}`;
}

export function routeRows(snapshot: Pick<SnapshotInput, 'listeners'>): RouteRow[] {
  const rows: RouteRow[] = [];
  for (const l of snapshot.listeners)
    for (const vh of l.virtualHosts)
      for (const r of vh.routes) {
        const clusters = r.route?.clusters ?? [];
        const target = r.route
          ? clusters.map((c) => (clusters.length > 1 ? `${c.cluster} ${c.weight}%` : c.cluster)).join(', ')
          : `direct ${r.directResponse?.status}`;
        rows.push({
          listener: `${l.name}:${l.port}`,
          virtualHost: vh.name,
          domains: vh.domains,
          match: matchText(r.match.path),
          route: r.name,
          target,
        });
      }
  return rows;
}
