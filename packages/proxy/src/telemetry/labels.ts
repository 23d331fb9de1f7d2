// Builds Istio's standard label set for one hop from what the proxy knows: its own node, the peer header and
// the chosen cluster. Values come from config and peer metadata only, never from raw request headers.
import { type IstioRequestLabel, IstioTcpLabels, type PeerInfo, UNKNOWN } from '@strait/api';

/** Every request label except the two known only when the response is done. */
export type RequestSeriesLabels = Record<
  Exclude<IstioRequestLabel, 'response_code' | 'response_flags'>,
  string
>;

/** The TCP metrics' labels. `response_flags` is part of the series (default "-"). */
export type TcpSeriesLabels = Record<(typeof IstioTcpLabels)[number], string>;

/**
 * The cluster id in `source_cluster` / `destination_cluster` for workloads inside the mesh. Istio's default
 * cluster id is "Kubernetes"; we use it too, so dashboards that filter on it keep working. A side we know
 * nothing about (no peer header, an external host) gets "unknown", as Istio reports it.
 */
export const MESH_CLUSTER_ID = 'Kubernetes';

/** What is known about the destination of a hop. */
export interface DestinationInfo {
  workload?: string | undefined;
  namespace?: string | undefined;
  app?: string | undefined;
  version?: string | undefined;
  /** Istio's destination_service: the host, e.g. service-b.default.svc.cluster.local or api.partner.example. */
  service?: string | undefined;
  /** Istio's destination_service_name: the short name, e.g. service-b. */
  serviceName?: string | undefined;
}

export interface LabelsForInput {
  /** "source" at gateways and a sidecar's outbound side; "destination" at a sidecar's inbound side. */
  reporter: 'source' | 'destination';
  source: PeerInfo | undefined;
  destination: DestinationInfo;
  protocol: 'http' | 'tcp' | 'grpc';
  /** Overrides MESH_CLUSTER_ID. */
  clusterId?: string;
  /** The hop was mutual TLS (the destination reports `connection_security_policy="mutual_tls"`). */
  mtls?: boolean;
  /** SPIFFE IDs of the two ends when the hop was mutual TLS. */
  sourcePrincipal?: string;
  destinationPrincipal?: string;
}

const CLUSTER_DOMAIN = '.svc.cluster.local';

function orUnknown(value: string | undefined): string {
  return value === undefined || value === '' ? UNKNOWN : value;
}

/** Istio's canonical revision: the version label, or "latest" when there is none (as Istio reports it). */
function revisionOf(version: string | undefined): string {
  return version === undefined || version === '' || version === UNKNOWN ? 'latest' : version;
}

/**
 * Istio's label set for a hop. Principals are the SPIFFE IDs of a mutual TLS hop, "unknown" without one;
 * connection_security_policy is "mutual_tls" or "none" at the destination and "unknown" at the source, as
 * Istio reports them.
 * grpc_response_status is "" for plain HTTP and TCP (Istio leaves it empty when there is no gRPC status).
 */
export function labelsFor(input: LabelsForInput): RequestSeriesLabels {
  const { source, destination } = input;
  const clusterId = input.clusterId ?? MESH_CLUSTER_ID;
  const { service, serviceName } = serviceNames(destination);
  const destinationApp = orUnknown(destination.app);
  const destinationVersion = orUnknown(destination.version);
  return {
    reporter: input.reporter,
    source_workload: orUnknown(source?.workload),
    source_workload_namespace: orUnknown(source?.namespace),
    source_principal: orUnknown(input.sourcePrincipal),
    source_app: orUnknown(source?.app),
    source_version: orUnknown(source?.version),
    source_canonical_service: orUnknown(source?.app),
    source_canonical_revision: revisionOf(source?.version),
    source_cluster: source ? clusterId : UNKNOWN,
    destination_workload: orUnknown(destination.workload),
    destination_workload_namespace: orUnknown(destination.namespace),
    destination_principal: orUnknown(input.destinationPrincipal),
    destination_app: destinationApp,
    destination_version: destinationVersion,
    destination_service: service,
    destination_service_name: serviceName,
    destination_service_namespace: orUnknown(destination.namespace),
    destination_canonical_service: destinationApp,
    destination_canonical_revision: revisionOf(destination.version),
    destination_cluster: destination.workload ? clusterId : UNKNOWN,
    request_protocol: input.protocol,
    grpc_response_status: input.protocol === 'grpc' ? UNKNOWN : '',
    connection_security_policy:
      input.reporter === 'destination' ? (input.mtls ? 'mutual_tls' : 'none') : UNKNOWN,
  };
}

/**
 * Fills whichever of the service host and short name is missing: a mesh short name becomes
 * name.namespace.svc.cluster.local; an in-mesh host gives its first label; an external host is its own name.
 */
function serviceNames(destination: DestinationInfo): { service: string; serviceName: string } {
  let { service, serviceName } = destination;
  if (!service && serviceName) {
    service =
      serviceName.includes('.') || !destination.namespace
        ? serviceName
        : `${serviceName}.${destination.namespace}${CLUSTER_DOMAIN}`;
  }
  if (service && !serviceName) {
    serviceName = service.endsWith(CLUSTER_DOMAIN) ? (service.split('.')[0] ?? service) : service;
  }
  return { service: orUnknown(service), serviceName: orUnknown(serviceName) };
}

/** Completes a partial request label set with "unknown" (grpc_response_status with ""). */
export function completeRequestLabels(partial: Partial<RequestSeriesLabels>): RequestSeriesLabels {
  return {
    reporter: orUnknown(partial.reporter),
    source_workload: orUnknown(partial.source_workload),
    source_workload_namespace: orUnknown(partial.source_workload_namespace),
    source_principal: orUnknown(partial.source_principal),
    source_app: orUnknown(partial.source_app),
    source_version: orUnknown(partial.source_version),
    source_canonical_service: orUnknown(partial.source_canonical_service),
    source_canonical_revision: orUnknown(partial.source_canonical_revision),
    source_cluster: orUnknown(partial.source_cluster),
    destination_workload: orUnknown(partial.destination_workload),
    destination_workload_namespace: orUnknown(partial.destination_workload_namespace),
    destination_principal: orUnknown(partial.destination_principal),
    destination_app: orUnknown(partial.destination_app),
    destination_version: orUnknown(partial.destination_version),
    destination_service: orUnknown(partial.destination_service),
    destination_service_name: orUnknown(partial.destination_service_name),
    destination_service_namespace: orUnknown(partial.destination_service_namespace),
    destination_canonical_service: orUnknown(partial.destination_canonical_service),
    destination_canonical_revision: orUnknown(partial.destination_canonical_revision),
    destination_cluster: orUnknown(partial.destination_cluster),
    request_protocol: orUnknown(partial.request_protocol),
    grpc_response_status: partial.grpc_response_status ?? '',
    connection_security_policy: orUnknown(partial.connection_security_policy),
  };
}

/** Completes a partial TCP label set: "unknown" everywhere, "-" for response_flags. */
export function completeTcpLabels(partial: Partial<TcpSeriesLabels>): TcpSeriesLabels {
  const out = {} as TcpSeriesLabels;
  for (const name of IstioTcpLabels) {
    out[name] = name === 'response_flags' ? (partial[name] ?? '-') : orUnknown(partial[name]);
  }
  return out;
}
