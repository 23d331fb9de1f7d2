// Splits a byte stream into newline-delimited text lines, keeping a partial line until its end arrives (the
// discovery stream for proxies, etcd's watch stream for the control plane). A line longer than the limit is
// an error: the peer is broken or hostile, and the caller drops the stream.

export class LineSplitter {
  readonly #maxBytes: number;
  readonly #decoder = new TextDecoder('utf-8');
  #pending = '';

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Feeds one chunk; returns the lines it completed (without their newline). */
  push(chunk: Uint8Array): string[] {
    const text = this.#decoder.decode(chunk, { stream: true });
    const firstBreak = text.indexOf('\n');
    if (firstBreak === -1) {
      // Only the new text is scanned, so a large message arriving in many chunks stays linear.
      this.#pending += text;
      this.#checkLength();
      return [];
    }
    const lines = text.slice(firstBreak + 1).split('\n');
    const first = this.#pending + text.slice(0, firstBreak);
    this.#pending = lines.pop() ?? '';
    this.#checkLength();
    lines.unshift(first);
    return lines;
  }

  #checkLength(): void {
    if (this.#pending.length > this.#maxBytes) {
      this.#pending = '';
      throw new Error(`a message line longer than ${this.#maxBytes} bytes`);
    }
  }
}
