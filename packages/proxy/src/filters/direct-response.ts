// The direct-response filter: a route that answers by itself (Istio's directResponse) answers here.
import type { Stream } from '../listener/stream.ts';
import type { FilterResult, HttpFilter } from './types.ts';

export const directResponseFilter: HttpFilter = {
  name: 'direct_response',
  onRequest(stream: Stream): FilterResult {
    const direct = stream.route?.directResponse;
    if (direct === undefined) return undefined;
    return { status: direct.status, flag: '-', body: direct.body ?? '' };
  },
};
