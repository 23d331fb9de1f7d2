// `npm run bench [-- --quick]`: Strait side by side with direct, nginx and HAProxy on loopback, plus the
// demo-shaped chain and control-plane convergence. Prints Markdown tables, writes bench/results/*.json
// and bench/results/latest.md. Installs nothing; every process it starts is stopped at the end.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type ConvergenceResult, measureConvergence } from './lib/convergence.ts';
import { measureTarget, type Settings, type TargetRound } from './lib/measure.ts';
import { killAllNow, onCleanup, stopAll } from './lib/processes.ts';
import {
  checkGoals,
  type Environment,
  renderConvergenceMarkdown,
  renderMarkdown,
  summarize,
} from './lib/report.ts';
import { proxyAvailable, proxyLaunch } from './lib/strait.ts';
import {
  DEFAULT_TARGETS,
  startApps,
  TARGETS,
  type Target,
  type TargetContext,
  type TargetKey,
} from './lib/targets.ts';
import { findTools, missingMessage, missingTools, type Tools } from './lib/tools.ts';

const USAGE = `usage: npm run bench [-- options]
  --quick              short run (1 round, short windows, fewer convergence changes; about 2 minutes)
  --rounds N           rounds of interleaved measurements (default 3, quick 1)
  --only a,b           targets: direct,nginx,haproxy,floor,strait,chain-direct,chain-strait,
                       strait-workers-1,strait-workers-2 (all by default)
  --skip-missing       run without nginx/HAProxy rows when they are not installed
  --no-convergence     skip the control-plane convergence part
  --convergence-only   measure only control-plane convergence (no data-plane targets, no wrk/nginx/HAProxy
                       needed); writes results/<timestamp>.json and results/convergence-latest.md
                       (latest.md, the data-plane table, is left as it is)
  --cpu-prof           run Strait proxies and the convergence part's control plane with --cpu-prof
                       (profiles in bench/results/profiles/)
  --proxy-source       run the proxy's TypeScript sources even when its built bundle is current
  --keep               keep the temporary work directory (configs, logs, access logs)
  --render FILE.json   re-render latest.md and the tables from a saved run, measuring nothing`;

/** Where `--convergence-only` writes its report; latest.md keeps the last full table. */
const CONVERGENCE_REPORT = 'convergence-latest.md';

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
  const known = TARGETS.map((t) => t.key);
  const only = values.only?.split(',').map((s) => s.trim()) as TargetKey[] | undefined;
  for (const key of only ?? []) {
    if (!known.includes(key)) throw new Error(`--only: unknown target "${key}" (known: ${known.join(', ')})`);
  }
  return { values, settings, only };
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

/** Rebuilds the Markdown from a results JSON (e.g. after a change to how goals are judged). */
function render(file: string): void {
  const saved = JSON.parse(readFileSync(file, 'utf8')) as {
    environment: Environment;
    elapsedS: number;
    convergence: ConvergenceResult[];
    rounds: TargetRound[];
    failures?: Record<string, string>;
    convergenceOnly?: boolean;
  };
  const keys = new Set(saved.rounds.map((r) => r.key));
  const targets = TARGETS.filter((t) => keys.has(t.key));
  const summaries = summarize(targets, saved.rounds);
  const goals = checkGoals(summaries, saved.convergence);
  // A convergence-only run has no data-plane rows; it must not replace the data-plane report.
  const convergenceOnly =
    saved.convergenceOnly ?? (saved.rounds.length === 0 && saved.convergence.length > 0);
  let markdown = convergenceOnly
    ? renderConvergenceMarkdown(saved.environment, goals, saved.convergence)
    : renderMarkdown(saved.environment, summaries, goals, saved.convergence);
  for (const [key, message] of Object.entries(saved.failures ?? {}))
    markdown += `\nFailed: ${key}: ${message}\n`;
  process.stdout.write(`${markdown}\n`);
  writeFileSync(
    join(benchDir, 'results', convergenceOnly ? CONVERGENCE_REPORT : 'latest.md'),
    `${markdown}\nFull run took ${saved.elapsedS} s. Raw data: \`${basename(file)}\` (not committed).\n`,
  );
}

async function main(): Promise<void> {
  const { values, settings, only } = parseCommandLine();
  if (values.render) return render(values.render);
  const convergenceOnly = values['convergence-only'];
  const tools = findTools();
  const missing = convergenceOnly ? [] : missingTools(tools);
  if (missing.length > 0) {
    process.stderr.write(missingMessage(missing));
    if (missing.includes('wrk') || !values['skip-missing']) process.exit(1);
  }

  const wanted = convergenceOnly ? [] : (only ?? DEFAULT_TARGETS);
  let targets = TARGETS.filter((t) => wanted.includes(t.key));
  targets = targets.filter(
    (t) => !(t.key === 'nginx' && !tools.nginx) && !(t.key === 'haproxy' && !tools.haproxy),
  );
  const straitReady = convergenceOnly || proxyAvailable(repoRoot);
  if (!straitReady) {
    process.stderr.write('bench: packages/proxy/src/main.ts does not exist yet: Strait rows are skipped\n');
    targets = targets.filter((t) => t.key !== 'strait' && t.key !== 'chain-strait');
  }

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
  if (!values['proxy-source'] && !convergenceOnly)
    execFileSync('npm', ['run', '-s', 'build', '-w', '@strait/proxy'], { cwd: repoRoot, stdio: 'inherit' });
  const ctx: TargetContext = {
    repoRoot,
    workDir,
    tools,
    proxyNodeArgs: values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
    proxyLaunch: proxyLaunch(repoRoot, values['proxy-source']),
  };
  const mode = `${values.quick ? 'quick' : 'full'}${convergenceOnly ? ', convergence only' : ''}`;
  const env = environment(tools, mode, settings);
  env.proxyRuns = ctx.proxyLaunch.runs;
  const began = Date.now();
  process.stderr.write(
    convergenceOnly
      ? `bench: ${mode} run; work dir ${workDir}\n`
      : `bench: ${mode} run, ${settings.rounds} round(s), targets ${targets.map((t) => t.key).join(', ')}; work dir ${workDir}\n`,
  );

  const apps = convergenceOnly ? [] : await startApps(ctx, benchDir);
  const rounds: TargetRound[] = [];
  const failures = new Map<TargetKey, string>();
  let convergence: ConvergenceResult[] = [];
  try {
    for (let round = 0; round < settings.rounds; round++) {
      for (const target of orderForRound(targets, round)) {
        if (failures.has(target.key)) continue;
        let result: TargetRound;
        try {
          result = await measureTarget(target, round, ctx, settings, benchDir, tools.wrk as string);
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
    if (!values['no-convergence']) {
      convergence = await measureConvergence(
        repoRoot,
        benchDir,
        workDir,
        values.quick
          ? [
              { proxies: 100, changes: 2, timeoutMs: 20_000 },
              { proxies: 1000, changes: 2, timeoutMs: 30_000 },
            ]
          : [
              { proxies: 100, changes: 5, timeoutMs: 30_000 },
              { proxies: 300, changes: 3, timeoutMs: 45_000 },
              { proxies: 1000, changes: 3, timeoutMs: 60_000 },
            ],
        controlPlaneNodeArgs,
      );
    }
  } finally {
    await stopAll(apps);
  }

  env.loadAverageAtEnd = loadavg()[0] ?? Number.NaN;
  const summaries = summarize(targets, rounds);
  const goals = checkGoals(summaries, convergence);
  let markdown = convergenceOnly
    ? renderConvergenceMarkdown(env, goals, convergence)
    : renderMarkdown(env, summaries, goals, convergence);
  for (const [key, message] of failures) markdown += `\nFailed: ${key}: ${message}\n`;
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
  writeFileSync(
    jsonPath,
    `${JSON.stringify({ environment: env, elapsedS, summaries, goals, convergence: strippedConvergence, failures: Object.fromEntries(failures), rounds, convergenceOnly }, null, 2)}\n`,
  );
  const report = convergenceOnly ? CONVERGENCE_REPORT : 'latest.md';
  writeFileSync(
    join(resultsDir, report),
    `${markdown}\nFull run took ${elapsedS} s. Raw data: \`${stamp}.json\` (not committed).\n`,
  );
  process.stderr.write(`bench: wrote ${jsonPath} and bench/results/${report}\n`);
  if (values.keep) process.stderr.write(`bench: work dir kept at ${workDir}\n`);
  else rmSync(workDir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  killAllNow();
  process.exit(1);
});
