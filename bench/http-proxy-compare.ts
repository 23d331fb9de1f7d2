// Measures the dependency choice in docs/architecture.md: one proxy hop with http-proxy against the same hop
// with undici (bench/apps/bare-proxy.mjs), same 1 KB upstream, wrk -t1 -c32, rounds interleaved, medians.
// http-proxy is not one of Strait's dependencies, so install it outside the repo first:
//   mkdir -p /tmp/hp && npm install --prefix /tmp/hp http-proxy@1.18.1
//   HTTP_PROXY_MODULE=/tmp/hp/node_modules/http-proxy node bench/http-proxy-compare.ts [--rounds 3] [--seconds 10]
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, seconds: { type: 'string', default: '10' } },
});
const upstream = '127.0.127.1:8080';
const hops = {
  undici: { listen: '127.0.127.2:8080', script: 'bench/apps/bare-proxy.mjs' },
  'http-proxy': { listen: '127.0.127.3:8080', script: 'bench/apps/http-proxy-hop.mjs' },
};

function start(args: string[]): ChildProcess {
  return spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
}

function wrk(target: string): number {
  const out = execFileSync('wrk', ['-t1', '-c32', `-d${values.seconds}s`, `http://${target}/`], {
    encoding: 'utf8',
  });
  const match = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!match) throw new Error(`wrk said:\n${out}`);
  return Number(match[1]);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const children = [start(['bench/apps/app.ts', '--listen', upstream])];
for (const hop of Object.values(hops))
  children.push(start([hop.script, '--listen', hop.listen, '--upstream', `http://${upstream}`]));
try {
  await sleep(1500);
  const results: Record<string, number[]> = { undici: [], 'http-proxy': [] };
  for (const hop of Object.values(hops)) wrk(hop.listen); // warm-up, not counted
  for (let round = 0; round < Number(values.rounds); round++)
    for (const [name, hop] of Object.entries(hops)) results[name]?.push(wrk(hop.listen));
  const undici = median(results.undici ?? []);
  const other = median(results['http-proxy'] ?? []);
  console.log(JSON.stringify(results));
  console.log(
    `undici ${undici.toFixed(0)} req/s, http-proxy ${other.toFixed(0)} req/s: undici ${(undici / other).toFixed(2)}×`,
  );
} finally {
  for (const child of children) child.kill('SIGTERM');
}
