// Summarises a V8 .cpuprofile (from node --cpu-prof): the functions with the most self time and the
// most total (inclusive) time, so a profile can be quoted in a note without a flame-graph viewer.
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
  process.stdout.write(summarize(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, Number(values.top)));
}
