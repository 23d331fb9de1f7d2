// The one file that touches Node's own llhttp binding (HTTPParser from the internal `_http_common`): the
// strict parser node:http itself uses, wrapped in a small typed interface. llhttp.test.ts fails loudly
// if a new Node changes what this file relies on.
import { createRequire } from 'node:module';

/** What the binding hands over when a message head is complete. */
export interface ParsedHead {
  versionMinor: number;
  /** Request method (requests only). */
  method: string;
  /** Request target as sent (requests only). */
  target: string;
  /** Response status and reason (responses only). */
  status: number;
  reason: string;
  /** Header names and values as received: [name, value, name, value, ...]. */
  raw: string[];
  /** An Upgrade request or response, or CONNECT: the bytes after the head are not HTTP. */
  upgrade: boolean;
  /** The message allows the connection to be reused (HTTP/1.1 without Connection: close, etc). */
  keepAlive: boolean;
}

/** What onHead may answer (response parsers): parse a body, skip it (a response to HEAD), or stop (101). */
export const HeadVerdict = { BODY: 0, SKIP_BODY: 1, UPGRADE: 2 } as const;

export interface ParserCallbacks {
  /** The first byte of a message arrived (optional: it costs a call per message). */
  onMessageBegin?(): void;
  onHead(head: ParsedHead): number;
  onBody(chunk: Buffer): void;
  /** Trailers of a chunked body (rare); empty when there were none. */
  onComplete(trailers: string[]): void;
  /** In consume mode: after each read the binding parsed itself; `result` is bytes or an Error. */
  onExecute?(result: number | ParseError): void;
}

/** llhttp's error: `code` is its HPE_* name, `bytesParsed` how far it got. */
export interface ParseError extends Error {
  code: string;
  reason?: string;
  bytesParsed: number;
}

interface Binding {
  HTTPParser: {
    new (): NativeParser;
    REQUEST: number;
    RESPONSE: number;
    kOnMessageBegin: number;
    kOnHeaders: number;
    kOnHeadersComplete: number;
    kOnBody: number;
    kOnMessageComplete: number;
    kOnExecute: number;
    kLenientNone: number;
  };
  methods: string[];
}

interface NativeParser {
  [slot: number]: unknown;
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | ParseError;
  finish(): ParseError | undefined;
  consume(handle: unknown): void;
  unconsume(): void;
  getCurrentBuffer(): Buffer;
  pause(): void;
  resume(): void;
  close(): void;
  free(): void;
}

const binding = createRequire(import.meta.url)('_http_common') as Binding;
const { HTTPParser, methods } = binding;

/**
 * One strict llhttp parser (requests or responses), reused for every message on its connection.
 * Heads longer than `maxHeaderBytes` fail with HPE_HEADER_OVERFLOW; nothing lenient is enabled.
 */
export class Llhttp {
  readonly #native: NativeParser;
  readonly #callbacks: ParserCallbacks;
  /** Header fields and target flushed early (llhttp hands over at most 32 fields at a time). */
  #pendingRaw: string[] | undefined;
  #pendingTarget = '';
  #inBody = false;
  #trailers: string[] = [];

  constructor(kind: 'request' | 'response', maxHeaderBytes: number, callbacks: ParserCallbacks) {
    this.#callbacks = callbacks;
    const native = new HTTPParser();
    native.initialize(
      kind === 'request' ? HTTPParser.REQUEST : HTTPParser.RESPONSE,
      {},
      maxHeaderBytes,
      HTTPParser.kLenientNone,
    );
    if (callbacks.onMessageBegin) native[HTTPParser.kOnMessageBegin] = callbacks.onMessageBegin;
    native[HTTPParser.kOnHeaders] = this.#onHeaders;
    native[HTTPParser.kOnHeadersComplete] = this.#onHeadersComplete;
    native[HTTPParser.kOnBody] = this.#onBody;
    native[HTTPParser.kOnMessageComplete] = this.#onMessageComplete;
    native[HTTPParser.kOnExecute] = this.#onExecute;
    this.#native = native;
  }

  /** Parses bytes; returns how many were parsed, or the error (the parser is then unusable). */
  execute(data: Buffer): number | ParseError {
    return this.#native.execute(data);
  }

  /** The peer closed: completes a close-delimited body, or says the message was cut short. */
  finish(): ParseError | undefined {
    return this.#native.finish();
  }

  /** Reads straight from a socket's native handle (no JS Buffer per read); results come to onExecute. */
  consume(handle: unknown): void {
    this.#native.consume(handle);
  }

  unconsume(): void {
    this.#native.unconsume();
  }

  /** The buffer of the read being parsed (consume mode), for the bytes after an upgrade's head. */
  currentBuffer(): Buffer {
    return this.#native.getCurrentBuffer();
  }

  free(): void {
    this.#native.close();
  }

  #onHeaders = (raw: string[], target: string): void => {
    if (this.#inBody) {
      // Fields after the body are a chunked message's trailers.
      this.#trailers.push(...raw);
      return;
    }
    if (this.#pendingRaw) this.#pendingRaw.push(...raw);
    else this.#pendingRaw = raw;
    this.#pendingTarget += target;
  };

  #onHeadersComplete = (
    _versionMajor: number,
    versionMinor: number,
    raw: string[] | undefined,
    method: number,
    target: string | undefined,
    status: number,
    reason: string | undefined,
    upgrade: boolean,
    keepAlive: boolean,
  ): number => {
    let fields = raw ?? [];
    let fullTarget = target ?? '';
    if (this.#pendingRaw) {
      fields = raw ? [...this.#pendingRaw, ...raw] : this.#pendingRaw;
      fullTarget = this.#pendingTarget + fullTarget;
      this.#pendingRaw = undefined;
      this.#pendingTarget = '';
    }
    this.#inBody = true;
    return this.#callbacks.onHead({
      versionMinor,
      method: methods[method] ?? '',
      target: fullTarget,
      status,
      reason: reason ?? '',
      raw: fields,
      upgrade,
      keepAlive,
    });
  };

  #onBody = (chunk: Buffer): void => {
    this.#callbacks.onBody(chunk);
  };

  #onMessageComplete = (): void => {
    this.#inBody = false;
    // Each message gets its own array: an exchange may hold its trailers while the next message is parsed.
    const trailers = this.#trailers;
    this.#trailers = [];
    this.#callbacks.onComplete(trailers);
  };

  #onExecute = (result: number | ParseError): void => {
    this.#callbacks.onExecute?.(result);
  };
}

/** True when a value is the binding's parse error rather than a byte count. */
export function isParseError(result: number | ParseError | undefined): result is ParseError {
  return typeof result === 'object' && result !== null;
}
