// Health: active HTTP checks and passive outlier detection, both keeping their state on the host.
export {
  ActiveHealthChecker,
  type ActiveHealthCheckerOptions,
  type HealthCheckTarget,
  HttpProber,
  isExpectedStatus,
  type Prober,
} from './active.ts';
export {
  DEFAULT_CONSECUTIVE_5XX,
  is5xx,
  isGatewayError,
  type Outcome,
  OutlierDetector,
  OutlierState,
  type OutlierTarget,
} from './outlier.ts';
export { type ActiveHealth, HealthState, type ProbeResult, type Thresholds } from './state.ts';
