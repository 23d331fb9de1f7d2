// A scripted proxy for tests: opens the discovery stream, applies each delta to the resources it holds (the
// snapshot after each one is kept), and ACKs or NACKs on request, or ACKs everything by itself.
import {
  type AckMessage,
  ApiPaths,
  assembleSnapshot,
  type DeltaMessage,
  type DiscoveryMessage,
  type DiscoveryRequest,
  type DiscoveryResource,
  discoveryKey,
  type NodeInfo,
  type RejectedResource,
  type SnapshotInput,
} from '@strait/api';

/** One delta as received, and the snapshot the proxy holds once it is applied. */
export interface ReceivedConfig {
  version: string;
  nonce: string;
  delta: DeltaMessage;
  snapshot: SnapshotInput;
  /** Bytes of the message line. */
  bytes: number;
}

export class FakeProxy {
  readonly node: NodeInfo;
  readonly base: string;
  readonly messages: DiscoveryMessage[] = [];
  /** One entry per delta, in order. */
  readonly snapshots: ReceivedConfig[] = [];
  /** The resources held after the last delta (as if every delta was applied). */
  readonly resources = new Map<string, DiscoveryResource>();
  readonly #token: string | undefined;
  #abort = new AbortController();
  #waiters: (() => void)[] = [];
  status = 0;
  closed: Promise<void> = Promise.resolve();

  readonly #autoAck: boolean;

  /** With `autoAck`, every delta is ACKed as it arrives, as a proxy that applies everything would. */
  constructor(base: string, node: NodeInfo, token?: string, options: { autoAck?: boolean } = {}) {
    this.base = base;
    this.node = node;
    this.#token = token;
    this.#autoAck = options.autoAck ?? false;
  }

  #headers(): Record<string, string> {
    const h: Record<string, string> = { 'content-type': 'application/json' };
    if (this.#token) h.authorization = `Bearer ${this.#token}`;
    return h;
  }

  /** Opens the stream (telling what it holds, when reconnecting); resolves with the HTTP status. */
  async connect(holding?: Pick<DiscoveryRequest, 'version' | 'resources'>): Promise<number> {
    this.#abort = new AbortController();
    const res = await fetch(`${this.base}${ApiPaths.discovery}`, {
      method: 'POST',
      headers: this.#headers(),
      body: JSON.stringify({ node: this.node, ...holding }),
      signal: this.#abort.signal,
    });
    this.status = res.status;
    if (res.status !== 200 || !res.body) return res.status;
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    this.closed = (async () => {
      let buffer = '';
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let nl = buffer.indexOf('\n');
          while (nl >= 0) {
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(nl + 1);
            if (line.trim()) this.#receive(JSON.parse(line) as DiscoveryMessage, Buffer.byteLength(line) + 1);
            nl = buffer.indexOf('\n');
          }
          for (const wake of this.#waiters.splice(0)) wake();
        }
      } catch {
        // aborted
      }
    })();
    return res.status;
  }

  #receive(message: DiscoveryMessage, bytes: number): void {
    this.messages.push(message);
    if (message.type !== 'delta') return;
    if (message.full) this.resources.clear();
    for (const ref of message.removed) this.resources.delete(discoveryKey(ref));
    for (const r of message.resources) this.resources.set(discoveryKey(r), r);
    const built = assembleSnapshot(message.version, this.resources.values());
    if (!built.assembled)
      throw new Error(`${this.node.id}: ${built.issues.map((i) => i.message).join('; ')}`);
    const config = {
      version: message.version,
      nonce: message.nonce,
      delta: message,
      snapshot: built.assembled.snapshot,
      bytes,
    };
    this.snapshots.push(config);
    if (this.#autoAck) void this.ack(config).then((r) => r.body?.cancel());
  }

  /** What it holds, as a reconnecting proxy reports it. */
  holding(): Pick<DiscoveryRequest, 'version' | 'resources'> {
    const last = this.snapshots.at(-1);
    return {
      ...(last ? { version: last.version } : {}),
      resources: [...this.resources.values()].map(({ type, name, version }) => ({ type, name, version })),
    };
  }

  /** Waits until `predicate` holds over the messages received so far. */
  async waitFor(predicate: (p: FakeProxy) => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this)) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `timed out waiting on ${this.node.id}; got ${JSON.stringify(this.messages.map((m) => m.type))}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async waitForSnapshots(count: number, timeoutMs = 5000): Promise<ReceivedConfig> {
    await this.waitFor((p) => p.snapshots.length >= count, timeoutMs);
    return this.snapshots[count - 1] as ReceivedConfig;
  }

  async ack(config: ReceivedConfig): Promise<Response> {
    const body: AckMessage = {
      nodeId: this.node.id,
      type: 'ack',
      version: config.version,
      nonce: config.nonce,
    };
    return this.#post(body);
  }

  async nack(
    config: ReceivedConfig,
    error: string,
    keptVersion: string,
    rejected?: RejectedResource[],
  ): Promise<Response> {
    const body: AckMessage = {
      nodeId: this.node.id,
      type: 'nack',
      nonce: config.nonce,
      error,
      keptVersion,
      ...(rejected ? { rejected } : {}),
    };
    return this.#post(body);
  }

  #post(body: AckMessage): Promise<Response> {
    return fetch(`${this.base}${ApiPaths.ack}`, {
      method: 'POST',
      headers: this.#headers(),
      body: JSON.stringify(body),
    });
  }

  async disconnect(): Promise<void> {
    this.#abort.abort();
    await this.closed;
  }
}
