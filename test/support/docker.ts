// Docker for the container tests: whether an engine answers and its published ports can be reached from here,
// which compose to call (v2 `docker compose`, else v1 `docker-compose`), and a compose project to drive.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RepoRoot } from '../../packages/demo/src/launcher/mesh.ts';
import { waitUntil } from '../../packages/demo/src/launcher/wait.ts';

export type DockerReadiness = { ready: true; compose: string[] } | { ready: false; reason: string };

const Install = 'apt-get install docker.io docker-compose, start dockerd (bash .ci/run does both)';

function firstLine(text: string | undefined): string {
  return (text ?? '').trim().split('\n')[0] ?? '';
}

/** The network namespace of a process, e.g. "net:[4026531840]"; undefined when it cannot be read. */
function netNamespace(pid: string): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

/**
 * Can the container tests run here? They need an engine and a compose; a test of a running stack also needs
 * to share the engine's network namespace (`publishedPorts`): the stack publishes its ports on the host's
 * 127.0.0.1, out of reach from inside `isolated`.
 */
export function dockerReadiness(options: { publishedPorts: boolean }): DockerReadiness {
  const info = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (info.error) return { ready: false, reason: `no docker command (${Install})` };
  if (info.status !== 0) {
    return {
      ready: false,
      reason: `the Docker engine does not answer: ${firstLine(info.stderr)} (${Install})`,
    };
  }
  let compose: string[] | undefined;
  for (const candidate of [['docker', 'compose'], ['docker-compose']]) {
    const [command, ...args] = candidate as [string, ...string[]];
    if (spawnSync(command, [...args, 'version'], { timeout: 30_000 }).status === 0) {
      compose = candidate;
      break;
    }
  }
  if (!compose)
    return { ready: false, reason: `neither docker compose nor docker-compose works (${Install})` };
  if (!options.publishedPorts) return { ready: true, compose };
  let daemonPid: string | undefined;
  try {
    daemonPid = readFileSync('/var/run/docker.pid', 'utf8').trim();
  } catch {
    // a remote engine or another pid file: nothing to compare with
  }
  const ours = netNamespace('self');
  const daemons = daemonPid ? netNamespace(daemonPid) : undefined;
  if (ours && daemons && ours !== daemons) {
    return {
      ready: false,
      reason:
        'this process is not in the Docker engine’s network namespace (inside `isolated`?), so the ports ' +
        'the stack publishes on 127.0.0.1 are out of reach: run `npm run test:docker` outside it',
    };
  }
  return { ready: true, compose };
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (killed after `timeoutMs`), optionally feeding `input` on its stdin. */
export function runCommand(
  argv: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
  const [command, ...args] = argv as [string, ...string[]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: RepoRoot, env: options.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Like runCommand, but a non-zero exit is an error that quotes the end of the command's output. */
export async function mustRun(
  argv: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<string> {
  const result = await runCommand(argv, options);
  if (result.code !== 0) {
    const tail = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-30).join('\n');
    throw new Error(`${argv.join(' ')} exited with ${result.code}:\n${tail}`);
  }
  return result.stdout;
}

/**
 * A docker client that builds with BuildKit, as the argv that starts a build: `docker buildx build` where the
 * buildx plugin is installed, else a client before 23 (Debian's docker.io) with DOCKER_BUILDKIT=1, which has
 * BuildKit built in. A newer client without buildx refuses DOCKER_BUILDKIT=1.
 */
export function buildKitBuilder(): { argv: string[]; env: Record<string, string> } | undefined {
  if (spawnSync('docker', ['buildx', 'version'], { stdio: 'ignore', timeout: 30_000 }).status === 0) {
    return { argv: ['docker', 'buildx', 'build', '--load'], env: {} };
  }
  const clients = new Set<string>();
  for (const dir of (process.env.PATH ?? '').split(':')) {
    try {
      clients.add(realpathSync(join(dir, 'docker')));
    } catch {
      // no docker in this directory
    }
  }
  for (const client of clients) {
    const version = spawnSync(client, ['version', '--format', '{{.Client.Version}}'], {
      encoding: 'utf8',
      timeout: 30_000,
    }).stdout;
    const major = Number(/^(\d+)\./.exec(version ?? '')?.[1]);
    if (major >= 18 && major < 23) return { argv: [client, 'build'], env: { DOCKER_BUILDKIT: '1' } };
  }
  return undefined;
}

/** The default compose.yaml gives a setting (`${NAME:-default}`), e.g. the official base images. */
export function composeDefault(name: string): string {
  const text = readFileSync(join(RepoRoot, 'compose.yaml'), 'utf8');
  const match = new RegExp(`\\$\\{${name}:-([^}]+)\\}`).exec(text);
  if (!match?.[1]) throw new Error(`compose.yaml has no default for ${name}`);
  return match[1];
}

function imageExists(image: string): boolean {
  return spawnSync('docker', ['image', 'inspect', image], { stdio: 'ignore', timeout: 30_000 }).status === 0;
}

/**
 * The base images to build and run with: the setting when it is given, else the official image when the
 * engine has it, else docker/local-images.sh's stand-in when the engine has that, else the official one
 * (which compose will pull).
 */
export function baseImage(setting: 'NODE_IMAGE' | 'PROMETHEUS_IMAGE'): string {
  const given = process.env[setting];
  if (given) return given;
  const official = composeDefault(setting);
  const standIn = setting === 'NODE_IMAGE' ? 'strait-local/node:24' : 'strait-local/prometheus';
  if (imageExists(official)) return official;
  return imageExists(standIn) ? standIn : official;
}

/** One container of a project, as `docker inspect` tells it. */
export interface ProjectContainer {
  id: string;
  service: string;
  state: string;
  /** healthy, unhealthy, starting, or none (no health check). */
  health: string;
}

/** A compose project: compose.yaml under its own project name and settings. */
export class ComposeProject {
  readonly name: string;
  readonly env: NodeJS.ProcessEnv;
  private readonly compose: string[];

  constructor(name: string, compose: string[], settings: Record<string, string>) {
    this.name = name;
    this.compose = compose;
    const env: NodeJS.ProcessEnv = { ...process.env, ...settings };
    // The project's settings are exactly these: nothing from a developer's shell turns on a profile.
    delete env.COMPOSE_PROFILES;
    delete env.COMPOSE_FILE;
    delete env.COMPOSE_PROJECT_NAME;
    this.env = env;
  }

  /** `compose -p <name> -f compose.yaml <args>`; resolves with its stdout. */
  run(args: string[], timeoutMs = 180_000): Promise<string> {
    return mustRun([...this.compose, '-p', this.name, '-f', join(RepoRoot, 'compose.yaml'), ...args], {
      env: this.env,
      timeoutMs,
    });
  }

  docker(args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<string> {
    return mustRun(['docker', ...args], { env: this.env, ...options });
  }

  async containers(): Promise<ProjectContainer[]> {
    const ids = (
      await this.docker([
        'ps',
        '-a',
        '-q',
        '--no-trunc',
        '--filter',
        `label=com.docker.compose.project=${this.name}`,
      ])
    )
      .split('\n')
      .filter((id) => id !== '');
    if (ids.length === 0) return [];
    const inspected = JSON.parse(await this.docker(['inspect', ...ids])) as {
      Id: string;
      State: { Status: string; Health?: { Status: string } };
      Config: { Labels: Record<string, string> };
    }[];
    return inspected.map((c) => ({
      id: c.Id,
      service: c.Config.Labels['com.docker.compose.service'] ?? '',
      state: c.State.Status,
      health: c.State.Health?.Status ?? 'none',
    }));
  }

  async containerOf(service: string): Promise<ProjectContainer> {
    const found = (await this.containers()).filter((c) => c.service === service);
    if (found.length !== 1) throw new Error(`expected one ${service} container, found ${found.length}`);
    return found[0] as ProjectContainer;
  }

  /** Waits until `services` all run, and those with a health check are healthy; returns when that was. */
  async waitHealthy(services: string[], timeoutMs: number): Promise<number> {
    let last: ProjectContainer[] = [];
    await waitUntil(
      async () => {
        last = await this.containers();
        const ready = services.every((service) => {
          const c = last.find((x) => x.service === service);
          return c?.state === 'running' && (c.health === 'healthy' || c.health === 'none');
        });
        return ready ? true : undefined;
      },
      timeoutMs,
      () => {
        const state = services.map((s) => {
          const c = last.find((x) => x.service === s);
          return `${s}: ${c ? `${c.state}/${c.health}` : 'no container'}`;
        });
        return `the stack was not healthy within ${Math.round(timeoutMs / 1000)} s (${state.join(', ')})`;
      },
      500,
    );
    return Date.now();
  }

  /** The last lines of every container's log that is not running healthy: what a failure report needs. */
  async troubleReport(): Promise<string> {
    const lines: string[] = [];
    for (const c of await this.containers()) {
      if (c.state === 'running' && (c.health === 'healthy' || c.health === 'none')) continue;
      const logs = await runCommand(['docker', 'logs', '--tail', '15', c.id], { env: this.env });
      lines.push(`--- ${c.service} (${c.state}/${c.health})`, `${logs.stdout}${logs.stderr}`.trim());
    }
    return lines.join('\n');
  }

  /** Writes every container's log to `dir`/<service>.log. */
  async saveLogs(dir: string): Promise<void> {
    for (const c of await this.containers()) {
      const logs = await runCommand(['docker', 'logs', '--timestamps', c.id], { env: this.env });
      writeFileSync(join(dir, `${c.service}.log`), `${logs.stdout}${logs.stderr}`);
    }
  }

  /** Runs a Node ES module, given as text, inside a service's container: `node - ...args`; returns its stdout. */
  async node(service: string, script: string, args: string[]): Promise<string> {
    const { id } = await this.containerOf(service);
    return this.docker(['exec', '-i', id, 'node', '--input-type=module', '-', ...args], {
      input: script,
      timeoutMs: 60_000,
    });
  }

  /** The containers, networks and volumes that still carry this project's name or label. */
  async leftovers(): Promise<string[]> {
    const label = `label=com.docker.compose.project=${this.name}`;
    const named = (text: string) => text.split('\n').filter((n) => n !== '');
    const containers = named(await this.docker(['ps', '-a', '--format', '{{.Names}}', '--filter', label]));
    const networks = named(await this.docker(['network', 'ls', '--format', '{{.Name}}']));
    const volumes = named(await this.docker(['volume', 'ls', '--format', '{{.Name}}']));
    const labelled = [
      ...named(await this.docker(['network', 'ls', '-q', '--filter', label])),
      ...named(await this.docker(['volume', 'ls', '-q', '--filter', label])),
    ];
    const ours = (n: string) => n.startsWith(`${this.name}_`) || n.startsWith(`${this.name}-`);
    return [
      ...containers.map((n) => `container ${n}`),
      ...networks.filter(ours).map((n) => `network ${n}`),
      ...volumes.filter(ours).map((n) => `volume ${n}`),
      ...labelled.map((n) => `labelled ${n}`),
    ];
  }

  /** `down -v`: stops and removes the project's containers, networks and volumes. */
  down(): Promise<string> {
    return this.run(['down', '-v', '--remove-orphans', '--timeout', '5'], 180_000);
  }
}
