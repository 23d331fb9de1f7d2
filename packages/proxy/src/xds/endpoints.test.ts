// The replicas a proxy streams from: URLs in turn, a name's every address, a failover never starting with
// the replica that just failed, and --control-plane's parsing.
import { describe, expect, it } from 'vitest';
import { ControlPlaneEndpoints, parseControlPlaneUrls } from './endpoints.ts';

describe('ControlPlaneEndpoints', () => {
  it('takes the URLs in turn, and a name as every address it resolves to, with its Host kept', async () => {
    const lookups: string[] = [];
    const endpoints = new ControlPlaneEndpoints(
      ['http://control-plane:15010', 'http://127.0.0.9:15010/prefix'],
      async (name) => {
        lookups.push(name);
        return ['10.0.0.1', '10.0.0.2', '10.0.0.1'];
      },
      () => 0,
    );
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push(await endpoints.next());
    expect(seen.map((t) => t.origin)).toEqual([
      'http://10.0.0.1:15010',
      'http://10.0.0.2:15010',
      'http://127.0.0.9:15010',
      // A new round (resolved again) does not begin with the replica that was tried last, unless alone.
      'http://10.0.0.1:15010',
    ]);
    expect(seen[0]?.host).toBe('control-plane:15010');
    expect(seen[2]?.basePath).toBe('/prefix');
    expect(lookups).toEqual(['control-plane', 'control-plane']);
  });

  it('starts at the replica it is told (proxies spread over them), then goes round', async () => {
    const urls = ['http://127.0.0.7:15010', 'http://127.0.0.8:15010'];
    const resolve = async () => [];
    expect((await new ControlPlaneEndpoints(urls, resolve, () => 0.2).next()).url).toBe(urls[0]);
    const second = new ControlPlaneEndpoints(urls, resolve, () => 0.7);
    expect([(await second.next()).url, (await second.next()).url, (await second.next()).url]).toEqual([
      urls[1],
      urls[0],
      urls[1],
    ]);
  });

  it('skips a name that does not resolve, and falls back to the URL itself when nothing does', async () => {
    const endpoints = new ControlPlaneEndpoints(['http://gone:15010'], async () => {
      throw new Error('ENOTFOUND');
    });
    expect((await endpoints.next()).origin).toBe('http://gone:15010');
  });

  it('parses one URL or several and refuses anything else', () => {
    expect(parseControlPlaneUrls('http://a:15010/, http://b:15010')).toEqual([
      'http://a:15010',
      'http://b:15010',
    ]);
    expect(() => parseControlPlaneUrls('a:15010')).toThrow(/expected an http/);
    expect(() => parseControlPlaneUrls('nonsense')).toThrow(/expected a URL/);
    expect(() => parseControlPlaneUrls(' , ')).toThrow(/at least one/);
  });
});
