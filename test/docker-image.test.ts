// docker/Dockerfile builds with both builders, BuildKit and the classic one (docker-compose 1.x's), from the
// base image a setting names, and each build gives the image compose.yaml runs: Node 24 as the `node` user,
// production dependencies only, the proxy's bundle in use, the demo mesh as the control plane's starting config.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RepoRoot } from '../packages/demo/src/launcher/mesh.ts';
import { baseImage, buildKitBuilder, dockerReadiness, mustRun, runCommand } from './support/docker.ts';

const readiness = dockerReadiness({ publishedPorts: false });
const ci = process.env.CI === 'true';
if (!readiness.ready) {
  if (ci) {
    it('finds a Docker engine (under CI=true these tests never skip)', () => {
      throw new Error(`the Docker tests cannot run here: ${readiness.reason}`);
    });
  } else {
    console.warn(`docker-image: skipped: ${readiness.reason}`);
  }
}
const buildKit = readiness.ready ? buildKitBuilder() : undefined;
const NoBuildKit =
  'no docker client with BuildKit (a buildx plugin, or Debian’s docker.io: apt-get install docker.io)';
if (readiness.ready && !buildKit && !ci)
  console.warn(`docker-image: the BuildKit build is skipped: ${NoBuildKit}`);

interface Build {
  builder: string;
  tag: string;
  argv: () => string[];
  env: Record<string, string>;
  skip: boolean;
}

const builds: Build[] = [
  {
    builder: 'the classic builder',
    tag: `strait:docker-test-classic-${process.pid}`,
    argv: () => ['docker', 'build'],
    env: { DOCKER_BUILDKIT: '0' },
    skip: false,
  },
  {
    builder: 'BuildKit',
    tag: `strait:docker-test-buildkit-${process.pid}`,
    argv: () => buildKit?.argv ?? [],
    env: buildKit?.env ?? {},
    skip: !buildKit && !ci,
  },
];

/** `docker run --rm IMAGE ...argv` through the image's entrypoint; resolves with stdout and stderr. */
async function runIn(image: string, argv: string[]): Promise<{ stdout: string; stderr: string }> {
  const result = await runCommand(['docker', 'run', '--rm', image, ...argv], { timeoutMs: 60_000 });
  expect(result.code, `${argv.join(' ')} in ${image}: ${result.stderr}`).toBe(0);
  return result;
}

describe.skipIf(!readiness.ready)('docker/Dockerfile', () => {
  const nodeImage = readiness.ready ? baseImage('NODE_IMAGE') : '';

  afterAll(async () => {
    // Only the tags (this run's own: a run in another work tree keeps its own) go: the build caches stay, so
    // the next run is quick.
    await runCommand(['docker', 'rmi', ...builds.map((b) => b.tag)]);
  }, 60_000);

  for (const build of builds) {
    describe.skipIf(build.skip)(
      `built with ${build.builder}${build.skip ? ` (skipped: ${NoBuildKit})` : ''}`,
      () => {
        beforeAll(async () => {
          if (build.argv().length === 0) throw new Error(`cannot build with ${build.builder}: ${NoBuildKit}`);
          await mustRun(
            [
              ...build.argv(),
              '-f',
              'docker/Dockerfile',
              '--build-arg',
              `NODE_IMAGE=${nodeImage}`,
              '-t',
              build.tag,
              RepoRoot,
            ],
            { env: { ...process.env, ...build.env }, timeoutMs: 20 * 60_000 },
          );
        }, 20 * 60_000);

        it(`runs Node 24 from ${nodeImage} as the unprivileged node user, with the production settings`, async () => {
          const [inspected] = JSON.parse(await mustRun(['docker', 'image', 'inspect', build.tag])) as {
            Size: number;
            Config: { User: string; Entrypoint: string[]; Env: string[] };
          }[];
          expect(inspected?.Config.User).toBe('node');
          expect(inspected?.Config.Entrypoint).toEqual(['strait-entrypoint']);
          expect(inspected?.Config.Env).toEqual(
            expect.arrayContaining(['NODE_ENV=production', 'MALLOC_ARENA_MAX=2']),
          );
          console.info(`docker-image: ${build.tag} is ${((inspected?.Size ?? 0) / 1e6).toFixed(0)} MB`);
          expect((await runIn(build.tag, ['node', '--version'])).stdout).toMatch(/^v24\./);
          expect((await runIn(build.tag, ['id', '-u'])).stdout.trim()).toBe('1000');
          await runIn(build.tag, ['test', '-x', '/usr/local/bin/strait-healthcheck']);
        });

        it('ships production dependencies only, and runs the proxy from its bundle', async () => {
          const modules = (await runIn(build.tag, ['ls', 'node_modules'])).stdout.split('\n');
          expect(modules).toEqual(expect.arrayContaining(['undici', 'pino', 'yaml', 'prom-client']));
          for (const dev of ['esbuild', 'vitest', 'typescript', 'node']) expect(modules).not.toContain(dev);
          const help = await runIn(build.tag, ['node', 'packages/proxy/bin/strait-proxy.mjs', '--help']);
          expect(help.stdout).toMatch(/--role/);
          // The launcher says so when it falls back to the TypeScript sources.
          expect(help.stderr).not.toMatch(/running the sources/);
        });

        it('runs straitctl as a command on PATH, from its bundle (its own dependencies are inside it)', async () => {
          expect((await runIn(build.tag, ['which', 'straitctl'])).stdout.trim()).toBe(
            '/usr/local/bin/straitctl',
          );
          expect((await runIn(build.tag, ['straitctl', '--help'])).stdout).toMatch(/describe/);
          const analyzed = await runIn(build.tag, ['straitctl', 'analyze', '-f', '/var/lib/strait/config']);
          expect(analyzed.stdout).toMatch(/No validation issues found/);
          const modules = (await runIn(build.tag, ['ls', 'node_modules'])).stdout.split('\n');
          for (const bundled of ['commander', 'cli-table3']) expect(modules).not.toContain(bundled);
        });

        it('starts the control plane on the demo mesh, with the external API resolved by DNS', async () => {
          const shipped = readdirSync(join(RepoRoot, 'packages/demo/mesh')).filter(
            (f) => f !== 'canary.yaml',
          );
          const config = (await runIn(build.tag, ['ls', '/var/lib/strait/config'])).stdout.trim().split('\n');
          expect(config.sort()).toEqual(shipped.sort());
          const external = await runIn(build.tag, ['cat', '/var/lib/strait/config/external.yaml']);
          expect(external.stdout).toMatch(/resolution: DNS/);
          const owner = await runIn(build.tag, ['stat', '-c', '%U', '/var/lib/strait/config']);
          expect(owner.stdout.trim()).toBe('node');
        });
      },
    );
  }
});
