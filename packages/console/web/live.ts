// The live connection to the control plane: a Server-Sent Events stream of console states. When the
// control plane goes away (restart, network) it says so and keeps reconnecting until it is back.
import { ConsolePaths, type ConsoleState } from '@strait/api/console';

export type LinkState = 'connecting' | 'live' | 'lost';

export interface LiveHandlers {
  state(state: ConsoleState): void;
  link(state: LinkState): void;
}

/** Opens the stream; the browser's own retry handles short breaks, a closed stream is opened anew. */
export function connect(handlers: LiveHandlers): () => void {
  let source: EventSource | undefined;
  let retry: number | undefined;
  let stopped = false;
  const open = () => {
    if (stopped) return;
    handlers.link(source ? 'lost' : 'connecting');
    source = new EventSource(ConsolePaths.events);
    source.addEventListener('open', () => handlers.link('live'));
    source.addEventListener('state', (event) => {
      handlers.link('live');
      handlers.state(JSON.parse((event as MessageEvent<string>).data) as ConsoleState);
    });
    source.addEventListener('error', () => {
      handlers.link('lost');
      // CLOSED: the browser gave up (an error answer); try again ourselves a little later.
      if (source?.readyState === EventSource.CLOSED && retry === undefined)
        retry = window.setTimeout(() => {
          retry = undefined;
          open();
        }, 2000);
    });
  };
  open();
  return () => {
    stopped = true;
    source?.close();
    if (retry !== undefined) window.clearTimeout(retry);
  };
}

/** One proxy's detail, or an Error saying why not. */
export async function fetchJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  const body = (await res.json().catch(() => undefined)) as
    | (T & { error?: { message?: string } })
    | undefined;
  if (!res.ok || body === undefined) throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
  return body;
}
