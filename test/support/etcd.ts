// A real three-member etcd cluster for a test file, on loopback addresses of its own. Without Debian's
// etcd-server a test that needs it is skipped with the install hint locally; under CI=true it never skips.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ETCD_INSTALL_HINT, EtcdCluster, etcdInstalled } from '../../packages/demo/src/launcher/etcd.ts';

const installed = etcdInstalled();

/** True when an etcd test must be skipped: etcd is missing and this is not CI. */
export const skipWithoutEtcd = !installed && process.env.CI !== 'true';
export const etcdSkipReason = `needs etcd: ${ETCD_INSTALL_HINT}`;

export interface TestEtcd {
  cluster: EtcdCluster;
  dir: string;
  stop: () => Promise<void>;
}

/** Starts three members on `<block>.1`, `.2`, `.3` (e.g. block 127.0.171) and waits until they answer. */
export async function startEtcd(block: string): Promise<TestEtcd> {
  const dir = mkdtempSync(join(tmpdir(), 'strait-etcd-'));
  const cluster = new EtcdCluster({ hosts: [1, 2, 3].map((n) => `${block}.${n}`), dir });
  try {
    await cluster.start();
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return {
    cluster,
    dir,
    stop: async () => {
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The member index (0-based) that leads the cluster now, asked of the members that answer. */
export async function leaderIndex(cluster: EtcdCluster): Promise<number> {
  const statuses = await Promise.all(
    cluster.endpoints.map(async (endpoint) => {
      try {
        const res = await fetch(`${endpoint}/v3/maintenance/status`, {
          method: 'POST',
          body: '{}',
          signal: AbortSignal.timeout(2000),
        });
        return (await res.json()) as { header?: { member_id?: string }; leader?: string };
      } catch {
        return undefined;
      }
    }),
  );
  const leader = statuses.find((s) => s?.leader)?.leader;
  const index = statuses.findIndex((s) => s?.header?.member_id === leader);
  if (index < 0) throw new Error('no etcd member knows a leader');
  return index;
}
