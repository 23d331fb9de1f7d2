// `npm run bench [-- --quick]`: Strait side by side with direct, nginx, HAProxy and two Node floors on loopback,
// plus a mesh hop and the demo-shaped chain (each plain and over mTLS), a fresh mesh's cold start and
// control-plane convergence. Prints Markdown tables, writes bench/results/*.json and bench/results/latest.md.
// Installs nothing; every process it starts is stopped.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_WARMUP_REQUESTS } from '../packages/proxy/src/config/options.ts';
import { type ColdStartResult, type ColdStartSettings, measureColdStart } from './lib/cold-start.ts';
import { renderColdStartMarkdown } from './lib/cold-start-report.ts';
import { type ConvergenceResult, measureConvergence } from './lib/convergence.ts';
import { checkGoals } from './lib/goals.ts';
import { type HandshakeResult, measureHandshakes } from './lib/handshakes.ts';
import { measureTarget, type Settings, type TargetRound } from './lib/measure.ts';
import { killAllNow, onCleanup, stopAll } from './lib/processes.ts';
import { type Environment, renderConvergenceMarkdown, renderMarkdown, summarize } from './lib/report.ts';
import { proxyAvailable, proxyLaunch } from './lib/strait.ts';
import {
  DEFAULT_TARGETS,
  MTLS_TARGETS,
  startApps,
  TARGETS,
  type Target,
  type TargetContext,
  type TargetKey,
  TRACING_TARGETS,
} from './lib/targets.ts';
import { findTools, missingMessage, missingTools, type Tools } from './lib/tools.ts';

const USAGE = `usage: npm run bench [-- options]
  --quick              short run (1 round, short windows, fewer convergence changes; about 3 minutes)
  --rounds N           rounds of interleaved measurements and of cold starts (default 3, quick 1)
  --only a,b           targets: direct,nginx,haproxy,floor,floor-llhttp,strait,strait-tracing-1,
                       strait-tracing-100,chain-direct,chain-strait,strait-workers-1,strait-workers-2,
                       hop-plain,hop-mtls,chain-strait-mtls (all by default; any mTLS row also measures
                       what a new mTLS connection costs)
  --skip-missing       run without nginx/HAProxy rows when they are not installed
  --no-convergence     skip the control-plane convergence part
  --no-cold-start      skip the cold-start part (a fresh demo mesh, then 300 req/s at once)
  --convergence-only   measure only control-plane convergence (no data-plane targets, no wrk/nginx/HAProxy
                       needed); writes results/<timestamp>.json and results/convergence-latest.md
                       (latest.md, the data-plane table, is left as it is)
  --cold-start-only    measure only the cold start (no wrk/nginx/HAProxy needed); writes
                       results/<timestamp>.json and results/cold-start-latest.md
  --cpu-prof           run Strait proxies and the convergence part's control plane with --cpu-prof
                       (profiles in bench/results/profiles/)
  --proxy-source       run the proxy's TypeScript sources even when its built bundle is current
  --keep               keep the temporary work directory (configs, logs, access logs)
  --render FILE.json   re-render latest.md and the tables from a saved run, measuring nothing`;

/** Where a run of one part alone writes its report; latest.md keeps the last full table. */
const PART_REPORT = {
  all: 'latest.md',
  convergence: 'convergence-latest.md',
  'cold-start': 'cold-start-latest.md',
};
type Part = keyof typeof PART_REPORT;

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(benchDir, '..');

function parseCommandLine() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      only: { type: 'string' },
      'skip-missing': { type: 'boolean', default: false },
      'no-convergence': { type: 'boolean', default: false },
      'convergence-only': { type: 'boolean', default: false },
      'no-cold-start': { type: 'boolean', default: false },
      'cold-start-only': { type: 'boolean', default: false },
      'cpu-prof': { type: 'boolean', default: false },
      'proxy-source': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      render: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const settings: Settings = values.quick
    ? {
        rounds: 1,
        wrkDurationS: 2,
        wrkWarmupS: 1,
        wrkConnections: 32,
        rate: 1000,
        rateDurationS: 3,
        rateWarmupS: 1,
        loadConnections: 64,
      }
    : {
        rounds: 3,
        wrkDurationS: 5,
        wrkWarmupS: 1,
        wrkConnections: 32,
        rate: 1000,
        rateDurationS: 6,
        rateWarmupS: 2,
        loadConnections: 64,
      };
  if (values.rounds !== undefined) {
    const rounds = Number(values.rounds);
    if (!Number.isInteger(rounds) || rounds < 1)
      throw new Error(`--rounds: expected a positive integer, got "${values.rounds}"`);
    settings.rounds = rounds;
  }
  if (values['convergence-only'] && (values['no-convergence'] || values.only !== undefined))
    throw new Error('--convergence-only cannot be combined with --no-convergence or --only');
  if (
    values['cold-start-only'] &&
    (values['no-cold-start'] || values.only !== undefined || values['convergence-only'])
  )
    throw new Error(
      '--cold-start-only cannot be combined with --no-cold-start, --only or --convergence-only',
    );
  const part: Part = values['convergence-only']
    ? 'convergence'
    : values['cold-start-only']
      ? 'cold-start'
      : 'all';
  // A fresh mesh per round; the rate and the 10 s window are issue 10's.
  const coldStart: ColdStartSettings = {
    rounds: settings.rounds,
    rate: 300,
    coldS: 10,
    settledS: values.quick ? 3 : 5,
    connections: settings.loadConnections,
    proxyWarmupRequests: Number(process.env.STRAIT_WARMUP_REQUESTS ?? DEFAULT_WARMUP_REQUESTS),
  };
  const known = TARGETS.map((t) => t.key);
  const only = values.only?.split(',').map((s) => s.trim()) as TargetKey[] | undefined;
  for (const key of only ?? []) {
    if (!known.includes(key)) throw new Error(`--only: unknown target "${key}" (known: ${known.join(', ')})`);
  }
  return { values, settings, only, part, coldStart };
}

function versionOf(command: string | undefined, args: string[]): string {
  if (!command) return 'missing';
  try {
    const out = execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return out.split('\n')[0]?.trim() ?? '';
  } catch (err) {
    // nginx -v prints on stderr.
    const stderr = (err as { stderr?: string }).stderr ?? '';
    return stderr.split('\n')[0]?.trim() || 'unknown';
  }
}

function environment(tools: Tools, mode: string, settings: Settings): Environment {
  // nginx -v writes its version to stderr.
  const nginxVersion = tools.nginx
    ? execFileSync('sh', ['-c', `"${tools.nginx}" -v 2>&1`], { encoding: 'utf8' }).trim()
    : '';
  let gitCommit = 'unknown';
  try {
    gitCommit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: repoRoot,
      encoding: 'utf8',
    }).trim();
  } catch {
    // not a git checkout
  }
  return {
    date: new Date().toISOString(),
    mode,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    nginx: nginxVersion.replace(/^nginx version: /, '') || 'missing',
    haproxy: versionOf(tools.haproxy, ['-v'])
      .replace(/ - https.*$/, '')
      .replace(/ \d{4}\/\d\d\/\d\d$/, ''),
    // wrk --version exits 1 after printing its version.
    wrk: tools.wrk
      ? (execFileSync('sh', ['-c', `"${tools.wrk}" --version 2>&1; true`], { encoding: 'utf8' })
          .split('\n')[0]
          ?.replace(/ Copyright.*$/, '')
          .trim() ?? 'unknown')
      : 'missing',
    loadAverageAtStart: loadavg()[0] ?? Number.NaN,
    loadAverageAtEnd: Number.NaN,
    proxyRuns: 'sources',
    gitCommit,
    settings,
  };
}

/** Round r measures every target once, starting at a different target each round (A B C, B C A, …). */
function orderForRound(targets: Target[], round: number): Target[] {
  const shift = round % targets.length;
  return [...targets.slice(shift), ...targets.slice(0, shift)];
}

/** What a run measured, as saved in results/<timestamp>.json. */
interface Measured {
  environment: Environment;
  part: Part;
  rounds: TargetRound[];
  convergence: ConvergenceResult[];
  coldStart: ColdStartResult | undefined;
  /** What a new connection costs, mTLS against plain (measured with the mTLS rows). */
  handshakes?: HandshakeResult | undefined;
  failures: Record<string, string>;
}

/** The Markdown report of a run: the full table, or the one part measured alone. */
function reportOf(run: Measured): string {
  const keys = new Set(run.rounds.map((r) => r.key));
  const summaries = summarize(
    TARGETS.filter((t) => keys.has(t.key)),
    run.rounds,
  );
  const goals = checkGoals(summaries, run.convergence, run.coldStart);
  let markdown =
    run.part === 'convergence'
      ? renderConvergenceMarkdown(run.environment, goals, run.convergence)
      : run.part === 'cold-start' && run.coldStart
        ? renderColdStartMarkdown(run.environment, run.coldStart)
        : renderMarkdown(run.environment, summaries, goals, run.convergence, run.coldStart, run.handshakes);
  for (const [key, message] of Object.entries(run.failures)) markdown += `\nFailed: ${key}: ${message}\n`;
  return markdown;
}

/** Rebuilds the Markdown from a results JSON (e.g. after a change to how goals are judged). */
function render(file: string): void {
  const saved = JSON.parse(readFileSync(file, 'utf8')) as Partial<Measured> & {
    environment: Environment;
    elapsedS: number;
    rounds: TargetRound[];
    convergence: ConvergenceResult[];
    convergenceOnly?: boolean;
  };
  // Older files name no part; a convergence-only one has no data-plane rows and must not replace latest.md.
  const part =
    saved.part ??
    ((saved.convergenceOnly ?? (saved.rounds.length === 0 && saved.convergence.length > 0))
      ? 'convergence'
      : 'all');
  const markdown = reportOf({
    environment: saved.environment,
    part,
    rounds: saved.rounds,
    convergence: saved.convergence,
    coldStart: saved.coldStart,
    handshakes: saved.handshakes,
    failures: saved.failures ?? {},
  });
  process.stdout.write(`${markdown}\n`);
  writeFileSync(
    join(benchDir, 'results', PART_REPORT[part]),
    `${markdown}\nFull run took ${saved.elapsedS} s. Raw data: \`${basename(file)}\` (not committed).\n`,
  );
}

async function main(): Promise<void> {
  const { values, settings, only, part, coldStart: coldStartSettings } = parseCommandLine();
  if (values.render) return render(values.render);
  const dataPlane = part === 'all';
  const tools = findTools();
  const missing = dataPlane ? missingTools(tools) : [];
  if (missing.length > 0) {
    process.stderr.write(missingMessage(missing));
    if (missing.includes('wrk') || !values['skip-missing']) process.exit(1);
  }

  const wanted = dataPlane ? (only ?? DEFAULT_TARGETS) : [];
  let targets = TARGETS.filter((t) => wanted.includes(t.key));
  targets = targets.filter(
    (t) => !(t.key === 'nginx' && !tools.nginx) && !(t.key === 'haproxy' && !tools.haproxy),
  );
  const straitReady = part === 'convergence' || proxyAvailable(repoRoot);
  if (!straitReady) {
    process.stderr.write('bench: packages/proxy/src/main.ts does not exist yet: Strait rows are skipped\n');
    targets = targets.filter(
      (t) => t.key !== 'strait' && !TRACING_TARGETS.includes(t.key) && t.key !== 'chain-strait',
    );
  }
  const runColdStart =
    straitReady && (part === 'cold-start' || (part === 'all' && !values['no-cold-start'] && !only));
  const runConvergence = part === 'convergence' || (part === 'all' && !values['no-convergence']);

  const workDir = mkdtempSync(join(tmpdir(), 'strait-bench-'));
  if (!values.keep) onCleanup(() => rmSync(workDir, { recursive: true, force: true }));
  const profileDir = join(benchDir, 'results', 'profiles');
  if (values['cpu-prof']) mkdirSync(profileDir, { recursive: true });
  const controlPlaneNodeArgs = (run: { proxies: number }): string[] =>
    values['cpu-prof']
      ? [
          '--cpu-prof',
          `--cpu-prof-dir=${profileDir}`,
          `--cpu-prof-name=control-plane-${run.proxies}-${Date.now()}.cpuprofile`,
        ]
      : [];
  // Strait is measured as it ships: the proxy's production bundle, built from the current sources.
  if (!values['proxy-source'] && part !== 'convergence')
    execFileSync('npm', ['run', '-s', 'build', '-w', '@strait/proxy'], { cwd: repoRoot, stdio: 'inherit' });
  // The launcher behind the cold start runs the strait-proxy command, which reads this from the environment.
  if (values['proxy-source']) process.env.STRAIT_PROXY_SOURCE = '1';
  const ctx: TargetContext = {
    repoRoot,
    workDir,
    tools,
    proxyNodeArgs: values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
    proxyLaunch: proxyLaunch(repoRoot, values['proxy-source']),
  };
  const mode = `${values.quick ? 'quick' : 'full'}${part === 'all' ? '' : `, ${part} only`}`;
  const env = environment(tools, mode, settings);
  env.proxyRuns = ctx.proxyLaunch.runs;
  const began = Date.now();
  process.stderr.write(
    dataPlane
      ? `bench: ${mode} run, ${settings.rounds} round(s), targets ${targets.map((t) => t.key).join(', ')}; work dir ${workDir}\n`
      : `bench: ${mode} run; work dir ${workDir}\n`,
  );

  const rounds: TargetRound[] = [];
  const failures = new Map<string, string>();
  let handshakes: HandshakeResult | undefined;
  if (targets.length > 0) {
    const apps = await startApps(ctx, benchDir);
    try {
      await measureRounds(targets, ctx, settings, tools.wrk as string, rounds, failures);
      if (targets.some((t) => MTLS_TARGETS.includes(t.key)))
        handshakes = await measureHandshakes(ctx, values.quick ? 100 : 300, settings.rounds + 1);
    } finally {
      await stopAll(apps);
    }
  }
  const coldStart = runColdStart
    ? await measureColdStart(benchDir, workDir, coldStartSettings, (line) =>
        process.stderr.write(`${line}\n`),
      )
    : undefined;
  const convergence: ConvergenceResult[] = runConvergence
    ? await measureConvergence(
        repoRoot,
        benchDir,
        workDir,
        values.quick
          ? [
              { proxies: 100, changes: 2, timeoutMs: 20_000 },
              { proxies: 1000, changes: 2, timeoutMs: 30_000 },
              { proxies: 1000, changes: 2, timeoutMs: 30_000, replicas: 2 },
            ]
          : [
              { proxies: 100, changes: 5, timeoutMs: 30_000 },
              { proxies: 300, changes: 3, timeoutMs: 45_000 },
              { proxies: 1000, changes: 3, timeoutMs: 60_000 },
              { proxies: 1000, changes: 3, timeoutMs: 60_000, replicas: 2 },
            ],
        controlPlaneNodeArgs,
      )
    : [];

  env.loadAverageAtEnd = loadavg()[0] ?? Number.NaN;
  const measured: Measured = {
    environment: env,
    part,
    rounds,
    convergence,
    coldStart,
    handshakes,
    failures: Object.fromEntries(failures),
  };
  const markdown = reportOf(measured);
  const elapsedS = Math.round((Date.now() - began) / 1000);
  process.stdout.write(`\n${markdown}\n(${elapsedS} s)\n`);

  const resultsDir = join(benchDir, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const stamp = env.date.replace(/[:.]/g, '-');
  const jsonPath = join(resultsDir, `${stamp}.json`);
  const strippedConvergence = convergence.map(({ raw, ...rest }) => ({
    ...rest,
    perChange: raw?.changes.map(({ ackMs, ...c }) => ({ ...c, proxies: ackMs.length })),
  }));
  const summaries = summarize(targets, rounds);
  const goals = checkGoals(summaries, convergence, coldStart);
  writeFileSync(
    jsonPath,
    `${JSON.stringify({ ...measured, elapsedS, summaries, goals, convergence: strippedConvergence }, null, 2)}\n`,
  );
  const report = PART_REPORT[part];
  writeFileSync(
    join(resultsDir, report),
    `${markdown}\nFull run took ${elapsedS} s. Raw data: \`${stamp}.json\` (not committed).\n`,
  );
  process.stderr.write(`bench: wrote ${jsonPath} and bench/results/${report}\n`);
  if (values.keep) process.stderr.write(`bench: work dir kept at ${workDir}\n`);
  else rmSync(workDir, { recursive: true, force: true });
}

/** Every round measures every target once, in a rotated order; a target that fails is left out after. */
async function measureRounds(
  targets: Target[],
  ctx: TargetContext,
  settings: Settings,
  wrk: string,
  rounds: TargetRound[],
  failures: Map<string, string>,
): Promise<void> {
  for (let round = 0; round < settings.rounds; round++) {
    for (const target of orderForRound(targets, round)) {
      if (failures.has(target.key)) continue;
      let result: TargetRound;
      try {
        result = await measureTarget(target, round, ctx, settings, benchDir, wrk);
      } catch (err) {
        // One broken row (e.g. a proxy that does not start) must not cost the rest of the table.
        const message = (err as Error).message;
        failures.set(target.key, message.split('\n')[0] ?? message);
        process.stderr.write(`bench: ${target.key} failed and is left out from now on:\n${message}\n`);
        continue;
      }
      rounds.push(result);
      const cost = result.proxies.map(
        (p) => `${p.name} ${p.vcpu.toFixed(3)} vCPU ${p.peakRssMb.toFixed(0)} MB`,
      );
      process.stderr.write(
        `bench: round ${round + 1}/${settings.rounds} ${target.key.padEnd(12)} ${result.wrk.rps.toFixed(0).padStart(6)} req/s  ` +
          `p50 ${result.load.latencyMs.p50.toFixed(3)} p99 ${result.load.latencyMs.p99.toFixed(3)} ms` +
          `${cost.length ? `  ${cost.join(', ')}` : ''}\n`,
      );
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  killAllNow();
  process.exit(1);
});
