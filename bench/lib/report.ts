// Turns the rounds into medians and ratios, checks them against the issue's targets, and renders the
// Markdown tables printed at the end of `npm run bench` (also saved as bench/results/latest.md).
import type { EndpointResult } from '../xds-sim.ts';
import type { ColdStartResult } from './cold-start.ts';
import { coldStartSection } from './cold-start-report.ts';
import type { ConvergenceResult } from './convergence.ts';
import { CONVERGENCE_GOAL, CONVERGENCE_GOALS, fmt, type Goal, goalsTable } from './goals.ts';
import type { HandshakeResult } from './handshakes.ts';
import type { Settings, TargetRound } from './measure.ts';
import { median, ratio } from './stats.ts';
import type { Target, TargetKey } from './targets.ts';

export interface TargetSummary {
  key: TargetKey;
  label: string;
  rounds: number;
  rps: number;
  rpsVsNginx: number;
  rpsVsDirect: number;
  p50: number;
  p90: number;
  p99: number;
  addedP50: number;
  addedP90: number;
  addedP99: number;
  /** CPU seconds per 1000 requests, summed over the target's proxies. */
  cpuPer1000: number;
  /** Share of the proxies' CPU spent in the kernel at the fixed rate. */
  systemShare: number;
  /** The busiest single proxy process of the target, vCPU at the fixed rate. */
  vcpuPerProxy: number;
  /** The largest single proxy process of the target, peak RSS MB up to the end of the fixed-rate window. */
  peakRssMbPerProxy: number;
  /** The same process's highest anonymous (private) RSS, MB; older result files lack it (NaN). */
  peakAnonMbPerProxy: number;
  idleRssMbPerProxy: number;
  proxyCount: number;
  /** Failed or non-2xx requests over all rounds (open loop + wrk). */
  failures: number;
  /** Median share of the fixed-rate requests that completed (below 1: the target could not hold the rate). */
  completedShare: number;
  accessLogLines: number;
}

export interface Environment {
  date: string;
  mode: string;
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  kernel: string;
  node: string;
  nginx: string;
  haproxy: string;
  wrk: string;
  gitCommit: string;
  /** 1-minute load average when the run began and ended: others' work on the machine skews results. */
  loadAverageAtStart: number;
  loadAverageAtEnd: number;
  /** Whether the Strait proxies ran the built bundle or the TypeScript sources. */
  proxyRuns: 'bundle' | 'sources';
  settings: Settings;
}

/** A difference in MB as words: "3.1 MB more" or "1.8 MB less". */
const moreOrLess = (mb: number): string => `${fmt(Math.abs(mb), 1)} MB ${mb < 0 ? 'less' : 'more'}`;
/** A difference with its sign: "+0.120" or "-0.040". */
const signed = (value: number, digits: number): string => `${value >= 0 ? '+' : ''}${fmt(value, digits)}`;
const max = (values: number[]): number => (values.length > 0 ? Math.max(...values) : Number.NaN);

export function summarize(targets: Target[], rounds: TargetRound[]): TargetSummary[] {
  const byKey = (key: TargetKey) => rounds.filter((r) => r.key === key);
  const rpsOf = (key: TargetKey) => median(byKey(key).map((r) => r.wrk.rps));
  const nginxRps = rpsOf('nginx');
  const directRps = rpsOf('direct');
  return targets.map((target) => {
    const own = byKey(target.key);
    const baseline = target.baseline ? byKey(target.baseline) : [];
    const added = (pick: (r: TargetRound) => number) =>
      median(
        own.map((r) => {
          const base = baseline.find((b) => b.round === r.round);
          return base ? pick(r) - pick(base) : Number.NaN;
        }),
      );
    const rps = rpsOf(target.key);
    return {
      key: target.key,
      label: target.label,
      rounds: own.length,
      rps,
      rpsVsNginx: ratio(rps, nginxRps),
      rpsVsDirect: ratio(rps, target.key.startsWith('chain') ? rpsOf('chain-direct') : directRps),
      p50: median(own.map((r) => r.load.latencyMs.p50)),
      p90: median(own.map((r) => r.load.latencyMs.p90)),
      p99: median(own.map((r) => r.load.latencyMs.p99)),
      addedP50: target.baseline ? added((r) => r.load.latencyMs.p50) : Number.NaN,
      addedP90: target.baseline ? added((r) => r.load.latencyMs.p90) : Number.NaN,
      addedP99: target.baseline ? added((r) => r.load.latencyMs.p99) : Number.NaN,
      cpuPer1000: median(own.map((r) => r.cpuSecondsPer1000)),
      systemShare: median(
        own.map((r) => {
          const total = r.proxies.reduce((sum, p) => sum + p.cpuSeconds, 0);
          return total > 0 ? r.proxies.reduce((sum, p) => sum + p.systemSeconds, 0) / total : Number.NaN;
        }),
      ),
      vcpuPerProxy: median(own.map((r) => max(r.proxies.map((p) => p.vcpu)))),
      peakRssMbPerProxy: median(own.map((r) => max(r.proxies.map((p) => p.peakRssMb)))),
      peakAnonMbPerProxy: median(own.map((r) => max(r.proxies.map((p) => p.peakAnonMb ?? Number.NaN)))),
      idleRssMbPerProxy: median(own.map((r) => max(r.proxies.map((p) => p.idleRssMb)))),
      proxyCount: own[0]?.proxies.length ?? 0,
      failures: own.reduce(
        (sum, r) => sum + r.load.errors + r.load.non2xx + r.wrk.non2xx + r.wrk.socketErrors,
        0,
      ),
      accessLogLines: median(own.map((r) => r.accessLogLines)),
      completedShare: median(own.map((r) => r.load.completed / r.load.scheduled)),
    };
  });
}

export function renderMarkdown(
  env: Environment,
  summaries: TargetSummary[],
  goals: Goal[],
  convergence: ConvergenceResult[],
  coldStart?: ColdStartResult,
  handshakes?: HandshakeResult,
): string {
  const s = env.settings;
  const lines: string[] = [];
  lines.push(`# Strait benchmark (${env.mode})`, '');
  lines.push(
    `${env.date} · ${env.cpus} × ${env.cpuModel} · ${env.memoryGb} GB · Linux ${env.kernel} · Node ${env.node} · ` +
      `${env.nginx} · ${env.haproxy} · ${env.wrk} · commit ${env.gitCommit} · ` +
      `load average ${fmt(env.loadAverageAtStart)} at start, ${fmt(env.loadAverageAtEnd)} at end`,
    '',
  );
  lines.push(
    `${s.rounds} round(s), targets interleaved (order rotated each round); medians over rounds. ` +
      `Throughput: wrk -t1 -c${s.wrkConnections} -d${s.wrkDurationS}s after a ${s.wrkWarmupS}s warm-up. ` +
      `Latency: open loop at ${s.rate} req/s for ${s.rateDurationS}s after ${s.rateWarmupS}s warm-up, ` +
      `measured from each request's due time (coordinated omission corrected), keep-alive pool of ${s.loadConnections}. ` +
      'Added latency = percentile through the proxies minus the same percentile direct, paired per round. ' +
      'CPU and RSS are per proxy process (nginx: master + worker), fresh processes each round; ' +
      `Strait runs with metrics and its access log on (JSON lines written to a file), started with the strait-proxy command running its ${env.proxyRuns === 'bundle' ? 'built bundle' : 'TypeScript sources'}.`,
    '',
  );
  lines.push(
    '| target | req/s | × nginx | × direct | p50 ms | p90 ms | p99 ms | added p50 | added p90 | added p99 | CPU s / 1000 req | kernel share | vCPU / proxy | peak RSS MB / proxy | peak private MB | idle RSS MB | failures |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const t of summaries) {
    const proxies = t.proxyCount > 1 ? ` (${t.proxyCount} proxies)` : '';
    lines.push(
      `| ${t.label}${proxies} | ${fmt(t.rps, 0)} | ${fmt(t.rpsVsNginx)} | ${fmt(t.rpsVsDirect)} | ${fmt(t.p50, 3)} | ` +
        `${fmt(t.p90, 3)} | ${fmt(t.p99, 3)} | ${fmt(t.addedP50, 3)} | ${fmt(t.addedP90, 3)} | ${fmt(t.addedP99, 3)} | ` +
        `${fmt(t.cpuPer1000, 3)} | ${Number.isFinite(t.systemShare) ? `${(100 * t.systemShare).toFixed(0)}%` : '–'} | ${fmt(t.vcpuPerProxy, 3)} | ${fmt(t.peakRssMbPerProxy, 1)} | ${fmt(t.peakAnonMbPerProxy, 1)} | ${fmt(t.idleRssMbPerProxy, 1)} | ${t.failures} |`,
    );
  }
  for (const t of summaries) {
    // A p50 this far above every other row means requests queued: the target fell behind the timetable.
    if (t.completedShare < 0.99 || t.p50 > 50) {
      lines.push(
        '',
        `Note: ${t.label} could not hold ${s.rate} req/s on this machine: ${(100 * t.completedShare).toFixed(0)}% of the ` +
          `scheduled requests completed within the 5 s timeout and the median waited ${fmt(t.p50, 0)} ms, so its ` +
          'latency columns measure a growing queue, not the cost of the hops.',
      );
    }
  }
  lines.push(...floorComparison(summaries));
  lines.push(...scalingSection(env, summaries));
  lines.push(...mtlsSection(summaries, handshakes));
  if (coldStart) lines.push('', ...coldStartSection(coldStart, env.proxyRuns));
  lines.push('', ...convergenceSection(convergence));
  lines.push('', '## Targets (issue 10; convergence: issues 5 and 13)', '', ...goalsTable(goals));
  lines.push('');
  return lines.join('\n');
}

/** Strait's hop next to each Node floor measured in the run: what Strait adds over what Node itself costs. */
function floorComparison(summaries: TargetSummary[]): string[] {
  const hop = summaries.find((t) => t.key === 'strait');
  if (!hop) return [];
  const lines: string[] = [];
  for (const [key, name] of [
    ['floor', 'the node:http + undici floor'],
    ['floor-llhttp', 'the node:net + llhttp floor (the lowest a Node proxy gets)'],
  ] as const) {
    const floor = summaries.find((t) => t.key === key);
    if (!floor) continue;
    lines.push(
      '',
      `Strait's hop next to ${name} in this run: CPU per request ×${fmt(ratio(hop.cpuPer1000, floor.cpuPer1000))}, ` +
        `idle RSS ${moreOrLess(hop.idleRssMbPerProxy - floor.idleRssMbPerProxy)}, peak RSS ${moreOrLess(hop.peakRssMbPerProxy - floor.peakRssMbPerProxy)}, ` +
        `throughput ×${fmt(ratio(hop.rps, floor.rps))}, added p50 ${signed(hop.addedP50 - floor.addedP50, 3)} ms.`,
    );
  }
  return lines;
}

/** The convergence heading and table, shared by the full report and a --convergence-only one. */
function convergenceSection(convergence: ConvergenceResult[]): string[] {
  const lines = [
    '## Control plane convergence',
    '',
    '| simulated proxies | control-plane replicas | changes | median ms | p99 ms | max ms | MiB per change | note |',
    '|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const c of convergence) {
    lines.push(
      `| ${c.proxies} | ${c.replicas === 2 ? '2 (etcd)' : '1'} | ${c.changes} | ${fmt(c.medianMs, 0)} | ${fmt(c.p99Ms, 0)} | ${fmt(c.maxMs, 0)} | ${fmt(c.mibPerChange ?? Number.NaN, 2)} | ${c.status === 'measured' ? c.note : `${c.status}: ${c.note}`} |`,
    );
  }
  const withEndpoint = convergence.filter((c) => c.endpoint);
  if (withEndpoint.length > 0) {
    lines.push(
      '',
      "A new endpoint, after Sidecars scope the mesh (service-a's pods may call service-b; service-b's pods call " +
        'nothing in the mesh): one more pod of service-b opens its stream.',
      '',
      '| simulated proxies | proxies reached | of them service-a (callers) | callers | endpoints only | KiB streamed | p99 ms to ACK |',
      '|---:|---:|---:|---:|---|---:|---:|',
    );
    for (const c of withEndpoint) {
      const e = c.endpoint as EndpointResult;
      lines.push(
        `| ${c.proxies} | ${e.reached} | ${e.reachedCallers} | ${e.callers} | ${e.endpointsOnly ? 'yes' : 'no'} | ${fmt(e.streamBytes / 1024, 1)} | ${fmt(e.p99Ms, 0)} |`,
      );
    }
  }
  return lines;
}

/** The report of `--convergence-only`: machine, convergence table and the convergence target only. */
export function renderConvergenceMarkdown(
  env: Environment,
  goals: Goal[],
  convergence: ConvergenceResult[],
): string {
  const targets = goals.filter((g) => CONVERGENCE_GOALS.includes(g.name));
  const lines = [
    `# Strait control-plane convergence (${env.mode})`,
    '',
    `${env.date} · ${env.cpus} × ${env.cpuModel} · ${env.memoryGb} GB · Linux ${env.kernel} · Node ${env.node} · ` +
      `commit ${env.gitCommit} · load average ${fmt(env.loadAverageAtStart)} at start, ${fmt(env.loadAverageAtEnd)} at end`,
    '',
    ...convergenceSection(convergence),
  ];
  for (const goal of targets)
    lines.push(
      '',
      `Target (issue ${goal.name === CONVERGENCE_GOAL ? 5 : 13}): ${goal.name} ${goal.goal}: ${goal.measured}` +
        `${goal.met === undefined ? '' : goal.met ? ' (met)' : ` (not met${goal.missedBy ? `, ${goal.missedBy}` : ''})`}.`,
    );
  lines.push('');
  return lines.join('\n');
}

/** Issue 11's rows side by side: what mutual TLS costs per request with keep-alive, and per new connection. */
function mtlsSection(summaries: TargetSummary[], handshakes: HandshakeResult | undefined): string[] {
  const of = (key: TargetKey) => summaries.find((t) => t.key === key);
  const pairs = [
    ['one mesh hop (ingress→sidecar→app)', of('hop-plain'), of('hop-mtls')],
    ['demo chain (ingress→sidecar A→A→sidecar A→sidecar B→B)', of('chain-strait'), of('chain-strait-mtls')],
  ] as const;
  if (!pairs.some(([, , mtls]) => mtls) && !handshakes) return [];
  const lines = [
    '',
    '## Mutual TLS (issue 11)',
    '',
    'The same proxies with their mesh hops in plain text and in mutual TLS (STRICT inbound, ISTIO_MUTUAL ' +
      'upstream connections kept alive; ECDSA P-256 certificates from the mesh CA), from the rows above: ' +
      "CPU of all the row's proxies per 1000 requests and p50 at the fixed rate.",
    '',
    '| path | CPU s / 1000 req plain | mTLS | × | p50 ms plain | mTLS | × |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [name, plain, mtls] of pairs) {
    if (!plain || !mtls) continue;
    lines.push(
      `| ${name} | ${fmt(plain.cpuPer1000, 3)} | ${fmt(mtls.cpuPer1000, 3)} | ${fmt(ratio(mtls.cpuPer1000, plain.cpuPer1000))} | ` +
        `${fmt(plain.p50, 3)} | ${fmt(mtls.p50, 3)} | ${fmt(ratio(mtls.p50, plain.p50))} |`,
    );
  }
  if (handshakes) {
    const { plain, mtls } = handshakes;
    lines.push(
      '',
      `A new connection to a sidecar's inbound (PERMISSIVE; ${handshakes.blocks} blocks of ${handshakes.perBlock} requests ` +
        'one after another, each on a fresh connection, plain and mTLS interleaved; medians): plain ' +
        `${fmt(plain.ms, 2)} ms and ${fmt(plain.cpuMs, 2)} ms of the sidecar's CPU per request, mTLS ${fmt(mtls.ms, 2)} ms and ` +
        `${fmt(mtls.cpuMs, 2)} ms: the full handshake costs ${fmt(mtls.ms - plain.ms, 2)} ms (the client's half included) and ` +
        `${fmt(mtls.cpuMs - plain.cpuMs, 2)} ms of the server's CPU per new connection.`,
    );
  }
  return lines;
}

/** The gateway scaling rows (`--only strait-workers-1,strait-workers-2`): req/s by worker count, and the ratio. */
function scalingSection(env: Environment, summaries: TargetSummary[]): string[] {
  const rows = summaries.filter((t) => t.key.startsWith('strait-workers-'));
  if (rows.length === 0) return [];
  const s = env.settings;
  const one = rows.find((t) => t.key === 'strait-workers-1');
  const lines = [
    '',
    '## Gateway scaling (--workers)',
    '',
    `An ingress gateway straight in front of the upstream, saturated by wrk -t1 -c${s.wrkConnections}. ` +
      `The machine's ${env.cpus} vCPU are shared by wrk, the upstream app and every gateway process, so the ` +
      'ratio shows what a second worker adds here, not what it would add with cores to spare. ' +
      `Latency, CPU and RSS are the open loop at ${s.rate} req/s; CPU and RSS count the whole process tree (primary + workers).`,
    '',
    '| gateway | req/s | × --workers 1 | p50 ms | p99 ms | CPU s / 1000 req | vCPU | peak RSS MB | idle RSS MB | failures |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const t of rows) {
    lines.push(
      `| ${t.label} | ${fmt(t.rps, 0)} | ${fmt(ratio(t.rps, one?.rps ?? Number.NaN))} | ${fmt(t.p50, 3)} | ${fmt(t.p99, 3)} | ` +
        `${fmt(t.cpuPer1000, 3)} | ${fmt(t.vcpuPerProxy, 3)} | ${fmt(t.peakRssMbPerProxy, 1)} | ${fmt(t.idleRssMbPerProxy, 1)} | ${t.failures} |`,
    );
  }
  return lines;
}
