// PERMISSIVE mode's sniffing: waits for a connection's first byte and puts it back, so the socket can be
// handed on whole to a TLS server (0x16 opens a TLS handshake record) or to the plain HTTP codec.

const TLS_HANDSHAKE_RECORD = 0x16;

/** Calls `then(isTls)` once the first bytes arrive; a socket that closes first is just dropped. */
export function sniffTls(socket: import('node:net').Socket, then: (isTls: boolean) => void): void {
  const onData = (chunk: Buffer) => {
    socket.removeListener('error', onError);
    socket.pause();
    socket.unshift(chunk);
    then(chunk[0] === TLS_HANDSHAKE_RECORD);
  };
  const onError = () => socket.destroy();
  socket.once('data', onData);
  socket.once('error', onError);
}
