// A three-member etcd cluster from Debian's etcd-server package, each member on a loopback address of its
// own with a data directory under one folder: the shared store of `npm start -- --ha` and of the HA tests.
// Members can be killed and started again (with their data) to play failures.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ManagedProcess } from './processes.ts';
import { waitUntil } from './wait.ts';

export const ETCD_INSTALL_HINT = 'apt-get install etcd-server (Debian’s etcd 3.4)';

/** True when Debian's `etcd` binary is on the PATH. */
export function etcdInstalled(): boolean {
  return spawnSync('etcd', ['--version']).status === 0;
}

export interface EtcdClusterOptions {
  /** One loopback address per member, e.g. 127.0.170.1 .. 127.0.170.3. */
  hosts: readonly string[];
  /** Data directories go under it, logs too (`etcd-<n>.log`) unless `logDir` says otherwise. */
  dir: string;
  logDir?: string;
  clientPort?: number;
  peerPort?: number;
  /** Raft timing (ms); a little slower than etcd's default so that a busy machine does not flap leaders. */
  heartbeatMs?: number;
  electionMs?: number;
}

export class EtcdCluster {
  readonly #o: Required<Omit<EtcdClusterOptions, 'logDir'>> & { logDir?: string };
  readonly #members: (ManagedProcess | undefined)[];

  constructor(options: EtcdClusterOptions) {
    this.#o = { clientPort: 2379, peerPort: 2380, heartbeatMs: 150, electionMs: 1500, ...options };
    this.#members = options.hosts.map(() => undefined);
  }

  /** Client URLs, one per member. */
  get endpoints(): string[] {
    return this.#o.hosts.map((h) => `http://${h}:${this.#o.clientPort}`);
  }

  /** The control plane's --store: etcd://a:2379,b:2379,c:2379. */
  get storeUrl(): string {
    return `etcd://${this.#o.hosts.map((h) => `${h}:${this.#o.clientPort}`).join(',')}`;
  }

  /** Starts every member and waits until the cluster answers. */
  async start(timeoutMs = 30_000): Promise<void> {
    this.#o.hosts.forEach((_, i) => {
      this.startMember(i);
    });
    await this.waitHealthy(timeoutMs);
  }

  /** Starts (or starts again, with its data) member `i`. */
  startMember(i: number): ManagedProcess {
    const host = this.#o.hosts[i] as string;
    const name = `etcd-${i + 1}`;
    const dataDir = join(this.#o.dir, name);
    mkdirSync(dataDir, { recursive: true });
    const cluster = this.#o.hosts.map((h, n) => `etcd-${n + 1}=http://${h}:${this.#o.peerPort}`).join(',');
    const member = new ManagedProcess(
      {
        name,
        command: 'etcd',
        args: [
          '--name',
          name,
          '--data-dir',
          dataDir,
          '--listen-client-urls',
          `http://${host}:${this.#o.clientPort}`,
          '--advertise-client-urls',
          `http://${host}:${this.#o.clientPort}`,
          '--listen-peer-urls',
          `http://${host}:${this.#o.peerPort}`,
          '--initial-advertise-peer-urls',
          `http://${host}:${this.#o.peerPort}`,
          '--initial-cluster',
          cluster,
          '--initial-cluster-state',
          'new',
          '--initial-cluster-token',
          'strait',
          '--heartbeat-interval',
          String(this.#o.heartbeatMs),
          '--election-timeout',
          String(this.#o.electionMs),
          '--log-level',
          'warn',
        ],
        // Debian's etcd 3.4 on arm64 needs this to start at all; elsewhere it changes nothing.
        env: { ETCD_UNSUPPORTED_ARCH: process.arch === 'arm64' ? 'arm64' : '' },
      },
      this.#o.logDir ?? this.#o.dir,
    );
    this.#members[i] = member;
    return member;
  }

  /** Kills member `i` (SIGKILL by default: a crash) and waits until it is gone. */
  async kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const member = this.#members[i];
    if (!member) return;
    member.signal(signal);
    await member.exited;
  }

  /** Waits until every running member says it is healthy (it has a leader and a quorum). */
  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    const running = this.#o.hosts.filter((_, i) => this.#members[i]?.running);
    await waitUntil(
      async () => {
        const answers = await Promise.all(running.map((h) => health(`http://${h}:${this.#o.clientPort}`)));
        return answers.every(Boolean) ? true : undefined;
      },
      timeoutMs,
      () => `etcd did not become healthy within ${Math.round(timeoutMs / 1000)} s (logs in ${this.#o.dir})`,
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.#members.map((m) => m?.stop(3000)));
  }
}

async function health(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as { health?: string };
    return res.status === 200 && body.health === 'true';
  } catch {
    return false;
  }
}
