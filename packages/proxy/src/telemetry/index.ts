// Telemetry: Istio's standard metrics, the proxy's health metrics and the access log.
export { AccessLog, type AccessLogEntry } from './access-log.ts';
export { IstioTrafficMetrics, RequestSeries, TcpSeries } from './istio-metrics.ts';
export { type DestinationInfo, labelsFor, type RequestSeriesLabels, type TcpSeriesLabels } from './labels.ts';
export { type BreakerName, ProxyTelemetry } from './metrics.ts';
export { type ObserverContext, TelemetryObserver } from './observer.ts';
