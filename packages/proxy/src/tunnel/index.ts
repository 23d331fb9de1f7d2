// Raw-socket relays: CONNECT tunnels and HTTP Upgrade (WebSocket) connections, with byte counts.
export { answerAndClose, DEFAULT_CONNECT_TIMEOUT_MS, openTunnel, type TunnelTarget } from './connect.ts';
export type { TunnelHooks, TunnelStats } from './session.ts';
export {
  DEFAULT_UPGRADE_CONNECT_TIMEOUT_MS,
  DEFAULT_UPGRADE_RESPONSE_TIMEOUT_MS,
  relayUpgrade,
  type UpgradeHooks,
  type UpgradeTarget,
} from './upgrade.ts';
