// PERMISSIVE mode's sniffing: waits for a connection's first byte and puts it back, so the socket can be
// handed on whole to a TLS server (0x16 opens a TLS handshake record) or to the plain HTTP codec.
import type { Socket } from 'node:net';

const TLS_HANDSHAKE_RECORD = 0x16;

/**
 * Calls `then(isTls)` once the first bytes arrive. A socket that closes first is dropped, and so is one that
 * sends nothing within `timeoutMs` (the listener's header timeout): until it speaks it is under no other timer.
 */
export function sniffTls(socket: Socket, timeoutMs: number, then: (isTls: boolean) => void): void {
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  const onData = (chunk: Buffer) => {
    clearTimeout(timer);
    socket.removeListener('error', onError);
    socket.pause();
    socket.unshift(chunk);
    then(chunk[0] === TLS_HANDSHAKE_RECORD);
  };
  const onError = () => {
    clearTimeout(timer);
    socket.destroy();
  };
  socket.once('data', onData);
  socket.once('error', onError);
  socket.once('close', () => clearTimeout(timer));
}
