// The terminal filter: picks the route's cluster by weight, rewrites the path and authority, and sends the
// request upstream through an UpstreamRequest; mirrors a copy when the route says so.
import { ResponseFlags } from '@strait/api';
import { setField } from '../codec/headers.ts';
import { decideMirror } from '../filters/fault.ts';
import type { Stream } from '../listener/stream.ts';
import type { RequestHead } from '../upstream/index.ts';
import { sendLocalReply } from './local-reply.ts';
import { mirror } from './mirror.ts';
import { UpstreamRequest, type UpstreamRequestOptions } from './upstream-request.ts';

export class Router {
  readonly #options: UpstreamRequestOptions;

  constructor(options: UpstreamRequestOptions) {
    this.#options = options;
  }

  route = (stream: Stream): void => {
    const route = stream.route;
    const clusterName = route ? route.pickCluster() : stream.clusterName;
    stream.clusterName = clusterName;
    const cluster = stream.ctx.clusters.get(clusterName);
    if (!cluster) {
      sendLocalReply(stream, {
        status: 503,
        flag: ResponseFlags.NO_CLUSTER,
        body: `no cluster ${clusterName}\n`,
      });
      return;
    }
    stream.cluster = cluster;
    const target = stream.target as NonNullable<Stream['target']>;
    const authority = route?.rewriteAuthority ?? target.authority;
    setField(stream.upstreamRaw, 'host', authority);
    const rewritten = route ? route.rewritePath(target.path) : target.path;
    const exchange = stream.exchange;
    const head: RequestHead = {
      method: exchange.method,
      // A forward proxy upstream (the egress gateway) takes the absolute form.
      path: cluster.config.forwardProxy ? `http://${authority}${rewritten}` : rewritten,
      raw: stream.upstreamRaw,
      hasBody: exchange.hasBody,
      length: exchange.contentLength,
    };
    new UpstreamRequest(stream, cluster, head, route, this.#options).start();
    if (route?.mirror && !exchange.hasBody && decideMirror(route.mirror))
      mirror(stream, route.mirror.cluster, head, authority);
  };
}
