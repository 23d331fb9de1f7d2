// straitctl's HTTP client for the control plane: one place that turns "cannot connect" and API errors
// into a single clear sentence (CliError) instead of a stack trace.

export class CliError extends Error {
  override name = 'CliError';
}

export interface ClientOptions {
  server: string;
  token?: string | undefined;
}

export class ControlPlaneClient {
  readonly server: string;
  readonly #token: string | undefined;

  constructor(options: ClientOptions) {
    this.server = options.server.replace(/\/+$/, '');
    this.#token = options.token;
  }

  async request(
    method: string,
    path: string,
    body?: string,
    headers: Record<string, string> = {},
  ): Promise<unknown> {
    const h: Record<string, string> = { accept: 'application/json', ...headers };
    if (this.#token) h.authorization = `Bearer ${this.#token}`;
    let res: Response;
    try {
      res = await fetch(`${this.server}${path}`, {
        method,
        headers: h,
        ...(body !== undefined ? { body } : {}),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err) {
      throw new CliError(
        `cannot reach the control plane at ${this.server} (${reasonOf(err)}); is it running? Set --server or STRAIT_SERVER.`,
      );
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

function reasonOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return cause.code;
  if ((err as Error).name === 'TimeoutError') return 'timed out';
  return cause?.message ?? (err as Error).message ?? String(err);
}
