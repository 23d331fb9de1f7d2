// Summarises a V8 .cpuprofile (from node --cpu-prof): the functions with the most self time and the
// most total (inclusive) time, and self time grouped by part of the proxy (access log, metrics, undici,
// Node's HTTP stack, syscalls), so a profile can be quoted in a note without a flame-graph viewer.
//   node bench/profile-summary.ts FILE.cpuprofile [--top 25]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function frameName(frame: CallFrame): string {
  const file = frame.url.replace(/^file:\/\//, '').replace(/^.*\/(packages|node_modules)\//, '$1/');
  const name = frame.functionName || '(anonymous)';
  return file ? `${name} ${file}:${frame.lineNumber + 1}` : name;
}

export function summarize(profile: CpuProfile, top: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const selfByName = new Map<string, number>();
  const totalByName = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const name = frameName(node.callFrame);
    selfByName.set(name, (selfByName.get(name) ?? 0) + us);
    // Inclusive time: each distinct function on the stack gets the sample once.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur);
      if (!frame) break;
      const key = frameName(frame.callFrame);
      if (seen.has(key)) continue;
      seen.add(key);
      totalByName.set(key, (totalByName.get(key) ?? 0) + us);
    }
  }
  const pct = (us: number) => `${((100 * us) / (totalUs || 1)).toFixed(1).padStart(5)}%`;
  const table = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => `  ${pct(us)} ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`)
      .join('\n');
  const idle = selfByName.get('(idle)') ?? 0;
  return (
    `profile: ${(totalUs / 1e6).toFixed(2)} s sampled, ${((totalUs - idle) / 1e6).toFixed(2)} s busy\n` +
    `self time:\n${table(selfByName)}\n` +
    `total time (inclusive):\n${table(totalByName)}\n`
  );
}

const WRITE_SYSCALLS = new Set([
  'writev',
  'writeLatin1String',
  'writeString',
  'writeUtf8String',
  'writeBuffer',
]);

/** Which part of a proxy a sample belongs to, judged from its own frame and the frames above it. */
function categoryOf(id: number, byId: Map<number, ProfileNode>, parent: Map<number, number>): string {
  const frame = byId.get(id)?.callFrame;
  if (!frame) return 'unknown';
  if (frame.functionName === '(idle)') return '(idle)';
  if (frame.functionName === '(garbage collector)') return 'garbage collector';
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const f = byId.get(cur)?.callFrame;
    if (!f) break;
    if (/run_main|esm\/loader|amaro/.test(f.url) || f.functionName === 'compileSourceTextModule') {
      return '(start-up: module loading, type stripping)';
    }
    if (/pino|sonic-boom|access-log/.test(f.url)) return 'access log (pino, sonic-boom, its file writes)';
    if (/prom-client|telemetry/.test(f.url)) return 'metrics';
  }
  if (WRITE_SYSCALLS.has(frame.functionName)) return 'socket write syscalls';
  if (/undici/.test(frame.url)) return 'undici (upstream client)';
  if (/packages\/proxy/.test(frame.url)) return 'proxy code';
  if (frame.url.startsWith('node:') || frame.url === '')
    return 'node core (http server, streams, net, timers)';
  return 'other libraries';
}

/** Self time grouped by part of the proxy; shares are of busy time after start-up. */
export function categories(profile: CpuProfile): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const key = categoryOf(id, byId, parent);
    totals.set(key, (totals.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const busy = [...totals].filter(([k]) => !k.startsWith('(')).reduce((sum, [, us]) => sum + us, 0);
  const lines = [...totals]
    .sort((a, b) => b[1] - a[1])
    .map(([k, us]) => {
      const share = k.startsWith('(') ? '      ' : `${((100 * us) / (busy || 1)).toFixed(1).padStart(5)}%`;
      return `  ${share} ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`;
    });
  return `by part (share of busy time after start-up):\n${lines.join('\n')}\n`;
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    options: { top: { type: 'string', default: '25' } },
    allowPositionals: true,
  });
  const file = positionals[0];
  if (!file) {
    process.stderr.write('usage: node bench/profile-summary.ts FILE.cpuprofile [--top N]\n');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  process.stdout.write(`${categories(profile)}${summarize(profile, Number(values.top))}`);
}
