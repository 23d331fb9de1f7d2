// The cold-start table: per fresh mesh, the p50 / p99 of each of the first seconds at a fixed rate, the p99
// of the whole first window, and the same rate once settled; in the full report and as its own file.
import { type ColdStartResult, type ProcessKind, perRequestMs } from './cold-start.ts';
import { COLD_START_GOAL, coldStartGoal, fmt } from './goals.ts';
import type { Environment } from './report.ts';

/** "p50 / p99" of one second, or what failed in it. */
function secondCell(result: ColdStartResult['rounds'][number]['cold'], i: number): string {
  const p50 = result.perSecondP50Ms[i] ?? Number.NaN;
  const p99 = result.perSecondP99Ms?.[i] ?? Number.NaN;
  const failed = result.perSecondFailed?.[i] ?? 0;
  return `${fmt(p50, 1)} / ${fmt(p99, 1)}${failed > 0 ? ` (${failed} failed)` : ''}`;
}

export function coldStartSection(result: ColdStartResult, proxyRuns: string): string[] {
  const s = result.settings;
  const lines = [
    '## Cold start',
    '',
    `A fresh demo mesh per round, started by the launcher behind \`npm start\` (without Prometheus, proxies ` +
      `running their ${proxyRuns === 'bundle' ? 'built bundle' : 'TypeScript sources'}) on 127.0.122.x–127.0.126.x. ` +
      'The launcher is done when every proxy is ready and has ACKed its config and one request went through the chain. ' +
      `At that moment the open-loop generator starts ${s.rate} req/s through the ingress ` +
      '(ingress → sidecar A → A → sidecar A → sidecar B → B → sidecar B → egress gateway → external API) ' +
      `for ${s.coldS} s, then ${s.settledS} s more ("settled"), keep-alive pool of ${s.connections}; latency from each ` +
      "request's due time. Cells are the p50 / p99 ms of the requests due in that second." +
      (s.proxyWarmupRequests === undefined
        ? ''
        : ` Each proxy warmed up with ${s.proxyWarmupRequests} requests before it reported ready.`),
    '',
  ];
  if (result.rounds.length > 0) lines.push(...latencyTable(result), '', ...cpuTable(result));
  if (result.failure) lines.push('', `Failed: cold start: ${result.failure}`);
  return lines;
}

/** Per fresh mesh: how long it took to come up, each of the first seconds, the cold and settled windows. */
function latencyTable(result: ColdStartResult): string[] {
  const s = result.settings;
  const lines: string[] = [];
  const seconds = Math.max(0, ...result.rounds.map((r) => r.cold.perSecondP50Ms.length));
  const secondHeads = Array.from({ length: seconds }, (_, i) => `${i + 1} s`);
  lines.push(
    `| round | mesh up after | ${secondHeads.join(' | ')} | first ${s.coldS} s p50 / p99 | failed | settled p50 / p99 |`,
    `|---|---:|${secondHeads.map(() => '---:').join('|')}|---:|---:|---:|`,
  );
  for (const r of result.rounds) {
    const cells = Array.from({ length: seconds }, (_, i) => secondCell(r.cold, i));
    const settled = r.settled
      ? `${fmt(r.settled.latencyMs.p50, 2)} / ${fmt(r.settled.latencyMs.p99, 1)}`
      : '–';
    lines.push(
      `| ${r.round + 1} | ${fmt(r.startupS, 1)} s | ${cells.join(' | ')} | ` +
        `${fmt(r.cold.latencyMs.p50, 2)} / ${fmt(r.cold.latencyMs.p99, 1)} | ${r.cold.errors + r.cold.non2xx} | ${settled} |`,
    );
  }
  return lines;
}

/** Per fresh mesh: the CPU of its proxies, apps and control plane, cold and settled. */
function cpuTable(result: ColdStartResult): string[] {
  const lines = [
    "Where the CPU went, summed over the mesh's processes: vCPU (CPU seconds per second) and CPU ms per " +
      'request completed, in the cold window and the settled one. Cold far above settled is warm-up (JIT, ' +
      "connections); vCPU near the machine's count means the mesh could not keep up.",
    '',
    '| round | window | proxies vCPU | proxies ms / request | apps vCPU | apps ms / request | control plane vCPU |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of result.rounds) {
    const windows = [
      ['cold', r.cpuCold, r.cold],
      ['settled', r.cpuSettled, r.settled],
    ] as const;
    for (const [name, cpu, load] of windows) {
      if (!cpu) continue;
      const vcpu = (kind: ProcessKind) => fmt(cpu[kind] / cpu.seconds, 2);
      const perRequest = (kind: ProcessKind) => fmt(perRequestMs(cpu[kind], load), 2);
      lines.push(
        `| ${r.round + 1} | ${name} | ${vcpu('proxies')} | ${perRequest('proxies')} | ${vcpu('apps')} | ` +
          `${perRequest('apps')} | ${vcpu('controlPlane')} |`,
      );
    }
  }
  return lines;
}

/** The report of `--cold-start-only`: machine, the cold-start table and its target. */
export function renderColdStartMarkdown(env: Environment, result: ColdStartResult): string {
  const goal = coldStartGoal(result);
  const lines = [
    `# Strait cold start (${env.mode})`,
    '',
    `${env.date} · ${env.cpus} × ${env.cpuModel} · ${env.memoryGb} GB · Linux ${env.kernel} · Node ${env.node} · ` +
      `commit ${env.gitCommit} · load average ${fmt(env.loadAverageAtStart)} at start, ${fmt(env.loadAverageAtEnd)} at end`,
    '',
    ...coldStartSection(result, env.proxyRuns),
    '',
    `Target (issue 10): ${COLD_START_GOAL} ≤ 50 ms: ${goal.measured}` +
      `${goal.met === undefined ? '' : goal.met ? ' (met)' : ` (not met, ${goal.missedBy ?? 'requests failed'})`}.`,
    '',
  ];
  return lines.join('\n');
}
