// Checks across resources: duplicates, references to things that do not exist (gateways, subsets,
// health-checked hosts, rate-limit targets, tracing providers) and route weights. Schema validation comes first (validate.ts).
import { type ErrorSpec, Errors } from '../errors.ts';
import { canonicalHost, hostPatternCovers, refNamespace, stripNamespace } from './hosts.ts';
import type { Kind, Resource } from './schemas.ts';
import { checkTracingReferences } from './tracing-references.ts';
import { repeatedNames } from './unique.ts';
import { type ConfigIssue, loadTexts, resourceKey } from './validate.ts';

/** Resources of one kind, typed. */
export function ofKind<K extends Kind>(resources: readonly Resource[], kind: K): Resource<K>[] {
  return resources.filter((r): r is Resource<K> => r.kind === kind);
}

/** Hosts the configuration itself names (canonical): VirtualService hosts and destinations, DestinationRule, ServiceEntry hosts, WorkloadEntry `app` labels. */
export function configuredHosts(resources: readonly Resource[]): Set<string> {
  const hosts = new Set<string>();
  for (const vs of ofKind(resources, 'VirtualService')) {
    const ns = vs.metadata.namespace;
    for (const h of vs.spec.hosts) hosts.add(canonicalHost(h, ns));
    for (const http of vs.spec.http ?? []) {
      for (const dest of http.route ?? []) hosts.add(canonicalHost(dest.destination.host, ns));
      if (http.mirror) hosts.add(canonicalHost(http.mirror.host, ns));
    }
  }
  for (const dr of ofKind(resources, 'DestinationRule'))
    hosts.add(canonicalHost(dr.spec.host, dr.metadata.namespace));
  for (const se of ofKind(resources, 'ServiceEntry'))
    for (const h of se.spec.hosts) hosts.add(canonicalHost(h, se.metadata.namespace));
  for (const we of ofKind(resources, 'WorkloadEntry')) {
    const app = we.spec.labels?.app;
    if (app) hosts.add(canonicalHost(app, we.metadata.namespace));
  }
  return hosts;
}

/** Every cross-resource problem in a complete configuration. */
export function checkReferences(resources: readonly Resource[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const at = (
    r: Resource,
    path: string,
    message: string,
    error: ErrorSpec = Errors.CONFIG_DANGLING_REF,
  ): void => {
    issues.push({
      error,
      origin: r.origin,
      kind: r.kind,
      apiVersion: r.apiVersion,
      name: r.metadata.name,
      path,
      message,
    });
  };

  const seen = new Map<string, Resource>();
  for (const r of resources) {
    const key = resourceKey(r);
    const first = seen.get(key);
    if (first) {
      const where = `${first.origin.file} document ${first.origin.document}`;
      at(
        r,
        'metadata.name',
        `expected a unique name; ${r.kind} "${r.metadata.name}" is also defined in ${where}`,
        Errors.CONFIG_INVALID,
      );
    } else seen.set(key, r);
  }

  const gateways = ofKind(resources, 'Gateway');
  const subsetsByHost = new Map<string, Set<string>>();
  for (const dr of ofKind(resources, 'DestinationRule')) {
    const host = canonicalHost(dr.spec.host, dr.metadata.namespace);
    const names = subsetsByHost.get(host) ?? new Set<string>();
    (dr.spec.subsets ?? []).forEach((subset, i) => {
      if (names.has(subset.name))
        at(
          dr,
          `spec.subsets[${i}].name`,
          `expected a unique subset name; "${subset.name}" is defined twice for ${host}`,
          Errors.CONFIG_INVALID,
        );
      names.add(subset.name);
    });
    subsetsByHost.set(host, names);
  }
  const checkSubset = (
    r: Resource,
    ns: string,
    dest: { host: string; subset?: string | undefined },
    path: string,
  ) => {
    if (!dest.subset) return;
    const host = canonicalHost(dest.host, ns);
    if (!subsetsByHost.get(host)?.has(dest.subset))
      at(
        r,
        `${path}.subset`,
        `subset "${dest.subset}" of host "${dest.host}" is not defined by any DestinationRule`,
      );
  };

  for (const vs of ofKind(resources, 'VirtualService')) {
    const ns = vs.metadata.namespace;
    (vs.spec.gateways ?? []).forEach((ref, i) => {
      if (ref === 'mesh') return;
      const gwName = stripNamespace(ref);
      const gwNs = refNamespace(ref, ns);
      const gw = gateways.find((g) => g.metadata.name === gwName && g.metadata.namespace === gwNs);
      if (!gw) {
        at(
          vs,
          `spec.gateways[${i}]`,
          `gateway "${ref}" does not exist (no Gateway named ${gwName} in ${gwNs})`,
        );
        return;
      }
      const serverHosts = gw.spec.servers.flatMap((s) => s.hosts);
      if (!vs.spec.hosts.some((host) => serverHosts.some((pattern) => hostPatternCovers(pattern, host))))
        at(
          vs,
          `spec.gateways[${i}]`,
          `none of the hosts (${vs.spec.hosts.join(', ')}) is served by Gateway ${gwName} (its hosts: ${serverHosts.join(', ')})`,
        );
    });
    (vs.spec.http ?? []).forEach((http, i) => {
      const routes = http.route ?? [];
      routes.forEach((dest, j) => {
        checkSubset(vs, ns, dest.destination, `spec.http[${i}].route[${j}].destination`);
      });
      if (http.mirror) checkSubset(vs, ns, http.mirror, `spec.http[${i}].mirror`);
      const weights = routes.map((r) => r.weight);
      if (routes.length > 1 && weights.some((w) => w !== undefined)) {
        const total = weights.reduce<number>((sum, w) => sum + (w ?? 0), 0);
        if (total !== 100)
          at(
            vs,
            `spec.http[${i}].route`,
            `expected the route weights to add up to 100, they add up to ${total}`,
            Errors.CONFIG_INVALID,
          );
      }
    });
    for (const { index, name } of repeatedNames(vs.spec.http ?? [], (http) => http.name))
      at(
        vs,
        `spec.http[${index}].name`,
        `expected a unique route name; "${name}" is used twice`,
        Errors.CONFIG_INVALID,
      );
  }

  const known = configuredHosts(resources);
  for (const hc of ofKind(resources, 'HealthCheck')) {
    if (!known.has(canonicalHost(hc.spec.host, hc.metadata.namespace)))
      at(
        hc,
        'spec.host',
        `host "${hc.spec.host}" is not named by any VirtualService, DestinationRule, ServiceEntry or WorkloadEntry`,
      );
  }

  for (const rl of ofKind(resources, 'RateLimit')) {
    const { kind, name } = rl.spec.targetRef;
    const target = resources.find(
      (r) => r.kind === kind && r.metadata.name === name && r.metadata.namespace === rl.metadata.namespace,
    );
    if (!target) {
      at(rl, 'spec.targetRef.name', `${kind} "${name}" does not exist`);
      continue;
    }
    if (rl.spec.route === undefined) continue;
    if (target.kind !== 'VirtualService') {
      at(
        rl,
        'spec.route',
        'expected no route when targetRef is a Gateway (a Gateway limit covers its listener)',
        Errors.CONFIG_INVALID,
      );
      continue;
    }
    const routeNames = ((target as Resource<'VirtualService'>).spec.http ?? []).map((h) => h.name);
    if (!routeNames.includes(rl.spec.route))
      at(rl, 'spec.route', `VirtualService ${name} has no http route named "${rl.spec.route}"`);
  }
  checkTracingReferences(resources, at);
  return issues;
}

/** Schema and cross-reference validation of a whole set of files (name -> text). */
export function validateAll(files: ReadonlyMap<string, string>): {
  resources: Resource[];
  issues: ConfigIssue[];
} {
  const { resources, issues } = loadTexts(files);
  if (issues.length > 0) return { resources, issues };
  return { resources, issues: checkReferences(resources) };
}
