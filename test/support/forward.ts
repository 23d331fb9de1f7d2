// Clients that talk to a forward proxy the way apps do: absolute-form HTTP and CONNECT.
import http from 'node:http';
import { connect } from 'node:net';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** GET `url` through the proxy at host:port in absolute form; `hostHeader` overrides Host. */
export function viaProxy(
  proxyHost: string,
  proxyPort: number,
  url: string,
  hostHeader?: string,
): Promise<Answer> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: proxyHost,
        port: proxyPort,
        method: 'GET',
        path: url,
        headers: { host: hostHeader ?? target.host },
        agent: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * Opens a CONNECT tunnel, sends `payload` once it is up and returns the status line, the proxy's body
 * when refused, and what came back through the tunnel.
 */
export function connectVia(
  proxyHost: string,
  proxyPort: number,
  target: string,
  payload: string,
  hostHeader = target,
): Promise<{ status: number; body: string; echoed: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: proxyHost, port: proxyPort });
    let buf = '';
    let status = 0;
    let headEnd = -1;
    socket.on('error', reject);
    socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${hostHeader}\r\n\r\n`);
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      if (headEnd < 0) {
        headEnd = buf.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        status = Number(buf.slice(9, 12));
        if (status === 200) socket.write(payload);
      }
      if (status === 200 && buf.length >= headEnd + 4 + payload.length) {
        socket.end();
        resolve({ status, body: '', echoed: buf.slice(headEnd + 4) });
      }
    });
    socket.on('close', () =>
      resolve({ status, body: headEnd >= 0 ? buf.slice(headEnd + 4) : buf, echoed: '' }),
    );
  });
}
