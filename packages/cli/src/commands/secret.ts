// straitctl proxy-config secret PROXY (istioctl's): the mesh certificate chain and trust bundle one proxy has in
// force, read from its admin /certs (serial, SPIFFE URI SAN, validity); -o json prints that answer whole.
import { ProxyAdminPaths, type ProxyCertificates } from '@strait/api';
import { CliError, type ControlPlaneClient } from '../client.ts';
import { type Io, table } from '../output.ts';
import { findProxy, proxies, readAdmin } from '../proxies.ts';

export async function proxySecret(
  client: ControlPlaneClient,
  io: Io,
  proxyId: string,
  output: string | undefined,
): Promise<number> {
  const proxy = findProxy(await proxies(client), proxyId);
  let answer: ProxyCertificates;
  try {
    answer = (await readAdmin(proxy, ProxyAdminPaths.certs)) as ProxyCertificates;
  } catch (err) {
    throw new CliError(
      `could not read the certificates of ${proxy.id} from its admin port (${(err as Error).message}). ` +
        "The admin port listens on the proxy's own address; run straitctl where it can reach it (in compose: docker compose exec on the proxy's container).",
    );
  }
  if (!Array.isArray(answer?.secrets))
    throw new CliError(`${proxy.id}'s admin ${ProxyAdminPaths.certs} did not answer with certificates.`);
  if (output === 'json') {
    io.out(`${JSON.stringify(answer, null, 2)}\n`);
    return 0;
  }
  if (answer.secrets.length === 0) {
    io.out(
      `${proxy.id} holds no mesh certificate (it was started without a join token, so it speaks plaintext).\n`,
    );
    return 0;
  }
  const rows: string[][] = [];
  for (const secret of answer.secrets)
    for (const cert of secret.certificates)
      rows.push([
        secret.name,
        secret.type,
        secret.state,
        String(cert.valid),
        cert.serialNumber,
        cert.notAfter,
        cert.notBefore,
        cert.uriSans.join(',') || cert.subject,
      ]);
  io.out(
    table(
      [
        'RESOURCE NAME',
        'TYPE',
        'STATUS',
        'VALID CERT',
        'SERIAL NUMBER',
        'NOT AFTER',
        'NOT BEFORE',
        'SAN / SUBJECT',
      ],
      rows,
    ),
  );
  return 0;
}
