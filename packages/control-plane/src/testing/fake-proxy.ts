// A scripted proxy for tests: opens the discovery stream, collects messages, and ACKs or NACKs on request.
import { type AckMessage, ApiPaths, type DiscoveryMessage, type NodeInfo } from '@strait/api';

type SnapshotMessage = Extract<DiscoveryMessage, { type: 'snapshot' }>;

export class FakeProxy {
  readonly node: NodeInfo;
  readonly base: string;
  readonly messages: DiscoveryMessage[] = [];
  readonly #token: string | undefined;
  #abort = new AbortController();
  #waiters: (() => void)[] = [];
  status = 0;
  closed: Promise<void> = Promise.resolve();

  constructor(base: string, node: NodeInfo, token?: string) {
    this.base = base;
    this.node = node;
    this.#token = token;
  }

  get snapshots(): SnapshotMessage[] {
    return this.messages.filter((m): m is SnapshotMessage => m.type === 'snapshot');
  }

  #headers(): Record<string, string> {
    const h: Record<string, string> = { 'content-type': 'application/json' };
    if (this.#token) h.authorization = `Bearer ${this.#token}`;
    return h;
  }

  /** Opens the stream; resolves with the HTTP status once headers arrive. */
  async connect(version?: string): Promise<number> {
    this.#abort = new AbortController();
    const res = await fetch(`${this.base}${ApiPaths.discovery}`, {
      method: 'POST',
      headers: this.#headers(),
      body: JSON.stringify(version ? { node: this.node, version } : { node: this.node }),
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
            if (line.trim()) this.messages.push(JSON.parse(line) as DiscoveryMessage);
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

  async waitForSnapshots(count: number, timeoutMs = 5000): Promise<SnapshotMessage> {
    await this.waitFor((p) => p.snapshots.length >= count, timeoutMs);
    return this.snapshots[count - 1] as SnapshotMessage;
  }

  async ack(message: SnapshotMessage): Promise<Response> {
    const body: AckMessage = {
      nodeId: this.node.id,
      type: 'ack',
      version: message.version,
      nonce: message.nonce,
    };
    return fetch(`${this.base}${ApiPaths.ack}`, {
      method: 'POST',
      headers: this.#headers(),
      body: JSON.stringify(body),
    });
  }

  async nack(message: SnapshotMessage, error: string, keptVersion: string): Promise<Response> {
    const body: AckMessage = { nodeId: this.node.id, type: 'nack', nonce: message.nonce, error, keptVersion };
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
