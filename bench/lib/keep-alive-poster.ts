// The simulator's ACK posts: an undici Pool of a few keep-alive connections shared by all simulated
// proxies (a real proxy has its own connection; one process cannot afford 1000 of them).
import { Pool } from 'undici';

export interface PostResult {
  /** The response status; 0 when the connection failed before a whole response arrived. */
  status: number;
  text: string;
}

export class KeepAlivePoster {
  readonly #pool: Pool;
  readonly #headers: Record<string, string>;

  constructor(host: string, port: number, maxConnections: number, headers: Record<string, string> = {}) {
    this.#pool = new Pool(`http://${host}:${port}`, { connections: maxConnections, pipelining: 1 });
    this.#headers = { ...headers, 'content-type': 'application/json' };
  }

  /** POSTs a JSON body; resolves when the answer is in (never rejects: a failure is status 0). */
  async post(path: string, json: string): Promise<PostResult> {
    try {
      const res = await this.#pool.request({ path, method: 'POST', headers: this.#headers, body: json });
      return { status: res.statusCode, text: await res.body.text() };
    } catch {
      return { status: 0, text: '' };
    }
  }

  close(): void {
    void this.#pool.destroy();
  }
}
