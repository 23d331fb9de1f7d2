// Push metrics: turns what the push path does (a push triggered, a proxy dequeued, a message written, an
// ACK, a NACK, a stale nonce, a stalled stream) into istiod's pilot_* series. The push path calls these
// methods and knows nothing of Prometheus.
import type { XdsMetricType } from '@strait/api';
import type { ControlPlaneTelemetry } from '../telemetry/metrics.ts';
import type { PendingPush } from './scheduler.ts';

/** What one message to one proxy carried and how long it took. */
export interface SentMessage {
  /** Bytes of the resources of each type the message carried. */
  bytesByType: ReadonlyMap<XdsMetricType, number>;
  /** When the proxy's turn came (ms, performance.now()). */
  turnAt: number;
  /** When the message was handed to the stream. */
  writeAt: number;
  /** When the kernel had all of it. */
  writtenAt: number;
}

export class PushMetrics {
  readonly #t: ControlPlaneTelemetry;

  constructor(telemetry: ControlPlaneTelemetry) {
    this.#t = telemetry;
  }

  connected(count: number): void {
    this.#t.connected.set(count);
  }

  /** A configuration change (`config`) or a registry change (`eds`) came in. */
  inboundUpdate(type: 'config' | 'eds'): void {
    this.#t.inboundUpdates.inc({ type });
  }

  /** A push started with the changes merged into it. */
  pushStarted(pending: PendingPush, now = Date.now()): void {
    for (const [type, count] of Object.entries(pending.triggers)) this.#t.pushTriggers.inc({ type }, count);
    this.#t.debounceTime.observe(Math.max(0, now - pending.firstSeenAt) / 1000);
  }

  /** A new generation of translations was indexed. */
  contextBuilt(seconds: number, services: number): void {
    this.#t.pushContextInit.observe(seconds);
    this.#t.services.set(services);
  }

  /** A proxy waited this long in the push window. */
  queued(ms: number): void {
    this.#t.queueTime.observe(Math.max(0, ms) / 1000);
  }

  sent(message: SentMessage): void {
    for (const [type, bytes] of message.bytesByType) {
      this.#t.pushes.inc({ type });
      this.#t.configSize.observe({ type }, bytes);
      this.#t.pushTime.observe({ type }, (message.writtenAt - message.turnAt) / 1000);
    }
    this.#t.sendTime.observe((message.writtenAt - message.writeAt) / 1000);
  }

  /** A proxy ACKed a config carrying a change made `seconds` ago. */
  acked(seconds: number): void {
    this.#t.convergence.observe(Math.max(0, seconds));
  }

  /** A proxy NACKed resources of these types. */
  rejected(types: Iterable<XdsMetricType>): void {
    for (const type of new Set(types)) this.#t.rejects.inc({ type });
  }

  /** An answer came for a message that is no longer the latest, which carried these types (if known). */
  expiredNonce(types: Iterable<XdsMetricType>): void {
    const known = new Set<string>(types);
    if (known.size === 0) known.add('unknown');
    for (const type of known) this.#t.expiredNonces.inc({ type });
  }

  /** A proxy that opened a stream needs a config: a push of its own, outside the debounce. */
  proxyTriggered(): void {
    this.#t.pushTriggers.inc({ type: 'proxy' });
  }

  writeTimeout(): void {
    this.#t.writeTimeouts.inc();
  }

  internalError(): void {
    this.#t.internalErrors.inc();
  }
}
