// straitctl's HTTP client for the control plane: one place that turns "cannot connect" and API errors
// into a single clear sentence (CliError) instead of a stack trace. It knows every replica given
// (--server URL,URL,...) and asks the next when one cannot be reached.

export class CliError extends Error {
  override name = 'CliError';
}

export interface ClientOptions {
  /** One control-plane URL, or several (the replicas) separated by commas. */
  server: string;
  token?: string | undefined;
}

export class ControlPlaneClient {
  /** Every replica's URL, in the order given. */
  readonly servers: readonly string[];
  readonly #token: string | undefined;

  constructor(options: ClientOptions) {
    this.servers = options.server
      .split(',')
      .map((s) => s.trim().replace(/\/+$/, ''))
      .filter(Boolean);
    if (this.servers.length === 0) throw new CliError('--server: expected a control-plane URL.');
    this.#token = options.token;
  }

  /**
   * Sends one request to the first replica that can be reached. A read moves on after any failure to get an
   * answer; a write only when the replica could not even be connected to (so it never reaches two replicas).
   */
  async request(
    method: string,
    path: string,
    body?: string,
    headers: Record<string, string> = {},
  ): Promise<unknown> {
    const failures: string[] = [];
    for (const server of this.servers) {
      try {
        return await this.requestTo(server, method, path, body, headers);
      } catch (err) {
        if (!(err instanceof Unreachable)) throw err;
        failures.push(`${server} (${err.message})`);
        if (method !== 'GET' && !err.neverConnected) break;
      }
    }
    const which = failures.length === 1 ? 'the control plane at' : 'any control-plane replica:';
    throw new CliError(
      `cannot reach ${which} ${failures.join(', ')}; is it running? Set --server or STRAIT_SERVER.`,
    );
  }

  /** Sends one request to every replica (proxy-status merges their answers); unreachable ones are listed. */
  async requestAll(
    path: string,
  ): Promise<{ answers: { server: string; body: unknown }[]; unreachable: string[] }> {
    const outcomes = await Promise.all(
      this.servers.map(async (server) => {
        try {
          return { server, body: await this.requestTo(server, 'GET', path) };
        } catch (err) {
          if (err instanceof Unreachable) return { server, failure: err.message };
          throw err;
        }
      }),
    );
    const answers = outcomes.flatMap((o) => ('body' in o ? [{ server: o.server, body: o.body }] : []));
    const unreachable = outcomes.flatMap((o) => ('failure' in o ? [`${o.server} (${o.failure})`] : []));
    if (answers.length === 0)
      throw new CliError(
        `cannot reach ${unreachable.length === 1 ? 'the control plane at' : 'any control-plane replica:'} ${unreachable.join(', ')}; is it running? Set --server or STRAIT_SERVER.`,
      );
    return { answers, unreachable };
  }

  async requestTo(
    server: string,
    method: string,
    path: string,
    body?: string,
    headers: Record<string, string> = {},
  ): Promise<unknown> {
    const h: Record<string, string> = { accept: 'application/json', ...headers };
    if (this.#token) h.authorization = `Bearer ${this.#token}`;
    let res: Response;
    try {
      res = await fetch(`${server}${path}`, {
        method,
        headers: h,
        ...(body !== undefined ? { body } : {}),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err) {
      throw new Unreachable(reasonOf(err), neverConnected(err));
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON; keep the text
    }
    if (!res.ok) {
      const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
      if (res.status === 401)
        throw new CliError(
          `the control plane refused the request (401 ${error?.code ?? 'unauthorized'}): set STRAIT_TOKEN, STRAIT_TOKEN_FILE or --token (npm start keeps its token in ~/.config/strait/token).`,
        );
      throw new CliError(
        error ? `${error.code}: ${error.message}` : `HTTP ${res.status}: ${text.slice(0, 500)}`,
      );
    }
    return parsed;
  }
}

/** No answer came from one replica. */
class Unreachable extends Error {
  readonly neverConnected: boolean;
  constructor(reason: string, neverConnected: boolean) {
    super(reason);
    this.neverConnected = neverConnected;
  }
}

/** The request cannot have reached the replica: no connection was made. */
function neverConnected(err: unknown): boolean {
  const code = (err as { cause?: { code?: string } }).cause?.code;
  return (
    code === 'ECONNREFUSED' ||
    code === 'ENOTFOUND' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENETUNREACH' ||
    code === 'EAI_AGAIN' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  );
}

function reasonOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return cause.code;
  if ((err as Error).name === 'TimeoutError') return 'timed out';
  return cause?.message ?? (err as Error).message ?? String(err);
}
