// Splits a newline-delimited byte stream into messages while holding as few bytes as possible: each
// line's first bytes (its head) are kept and judged; the rest of the line is kept only if the head is not enough.

/** How one stream's lines become messages. */
export interface LineDecoder<T> {
  /**
   * The message a line's head already tells, or undefined to ask for the whole line. `complete` is true
   * when the line ended within the head (then `head` is the whole line).
   */
  fromHead(head: Buffer, complete: boolean): T | undefined;
  /** The message from the whole line, when the head was not enough. */
  fromLine(line: Buffer): T;
}

/**
 * Feed it the stream's chunks with `push`; it calls `onMessage` once per non-empty line. Chunks are
 * searched for newlines in place (no joining of strings or buffers per chunk), only the unfinished
 * line's head (at most `headBytes`) is kept across chunks, and the body of a line whose head was enough
 * is skipped without being copied or decoded. Kept bytes are copied, so a chunk's memory may be
 * reused as soon as `push` returns.
 */
export class LineHeads<T> {
  readonly #headBytes: number;
  readonly #decoder: LineDecoder<T>;
  readonly #onMessage: (message: T) => void;
  /** Pieces of the current line's head while it is shorter than headBytes. */
  #headParts: Buffer[] = [];
  #headLength = 0;
  /** 'head': still reading the head; 'skip': the head was enough; 'whole': keeping the whole line. */
  #mode: 'head' | 'skip' | 'whole' = 'head';
  #decided: T | undefined;
  /** The whole line's pieces, in 'whole' mode. */
  #lineParts: Buffer[] = [];

  constructor(headBytes: number, decoder: LineDecoder<T>, onMessage: (message: T) => void) {
    if (!Number.isInteger(headBytes) || headBytes < 1)
      throw new RangeError('headBytes must be a positive integer');
    this.#headBytes = headBytes;
    this.#decoder = decoder;
    this.#onMessage = onMessage;
  }

  push(chunk: Buffer): void {
    let from = 0;
    while (from < chunk.length) {
      const newline = chunk.indexOf(10, from);
      if (newline < 0) {
        this.#take(chunk.subarray(from));
        return;
      }
      this.#take(chunk.subarray(from, newline));
      this.#endLine();
      from = newline + 1;
    }
  }

  /** Bytes held for the unfinished line (for tests and sanity checks). */
  get heldBytes(): number {
    let held = this.#headLength;
    for (const part of this.#lineParts) held += part.length;
    return held;
  }

  #take(bytes: Buffer): void {
    if (bytes.length === 0 || this.#mode === 'skip') return;
    if (this.#mode === 'whole') {
      this.#lineParts.push(Buffer.from(bytes));
      return;
    }
    const room = this.#headBytes - this.#headLength;
    const part = Buffer.from(bytes.subarray(0, room));
    this.#headParts.push(part);
    this.#headLength += part.length;
    if (this.#headLength < this.#headBytes) return;
    const head = this.#joinHead();
    this.#decided = this.#decoder.fromHead(head, false);
    if (this.#decided !== undefined) {
      this.#mode = 'skip';
      return;
    }
    this.#mode = 'whole';
    this.#headParts = [];
    this.#headLength = 0;
    this.#lineParts.push(head);
    if (bytes.length > room) this.#lineParts.push(Buffer.from(bytes.subarray(room)));
  }

  #joinHead(): Buffer {
    const head =
      this.#headParts.length === 1 ? (this.#headParts[0] as Buffer) : Buffer.concat(this.#headParts);
    this.#headParts = [head];
    return head;
  }

  #endLine(): void {
    let message: T | undefined;
    if (this.#mode === 'skip') message = this.#decided;
    else if (this.#mode === 'whole') message = this.#decoder.fromLine(Buffer.concat(this.#lineParts));
    else if (this.#headLength > 0) {
      const line = this.#joinHead();
      message = this.#decoder.fromHead(line, true) ?? this.#decoder.fromLine(line);
    }
    this.#headParts = [];
    this.#headLength = 0;
    this.#lineParts = [];
    this.#mode = 'head';
    this.#decided = undefined;
    if (message !== undefined) this.#onMessage(message);
  }
}
