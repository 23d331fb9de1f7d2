// Peer resolution: only workloads the snapshot names are labelled; forged and malformed headers are unknown.
import { encodePeer } from '@strait/api';
import { describe, expect, it } from 'vitest';
import { knownPeers, PeerResolver } from './peers.ts';

const peers = knownPeers([
  { workload: 'service-a-v1', namespace: 'default', app: 'service-a', version: 'v1' },
]);

describe('PeerResolver', () => {
  it('resolves a known workload by namespace and name, whatever else the header claims', () => {
    const r = new PeerResolver();
    const honest = encodePeer({
      workload: 'service-a-v1',
      namespace: 'default',
      app: 'service-a',
      version: 'v1',
    });
    expect(r.resolve(honest, peers)).toBe('default/service-a-v1');
    expect(r.resolve('workload=service-a-v1;namespace=default;app=evil', peers)).toBe('default/service-a-v1');
    expect(peers.get('default/service-a-v1')?.app).toBe('service-a');
  });

  it('gives "" for unknown, other-namespace and malformed claims', () => {
    const r = new PeerResolver();
    expect(r.resolve('workload=forged;namespace=default', peers)).toBe('');
    expect(r.resolve('workload=service-a-v1;namespace=other', peers)).toBe('');
    expect(r.resolve('garbage', peers)).toBe('');
    expect(r.resolve('workload=%zz', peers)).toBe('');
  });

  it('forgets its memo when the peers change', () => {
    const r = new PeerResolver();
    const raw = 'workload=late;namespace=default';
    expect(r.resolve(raw, peers)).toBe('');
    const more = knownPeers([{ workload: 'late', namespace: 'default' }]);
    expect(r.resolve(raw, more)).toBe('default/late');
  });
});
