// Regenerates docs/console.png: the demo mesh on test addresses (127.0.150.x…), demo traffic and one
// denied egress request, then the console's graph in headless Chromium at 1280×800.
//   isolated npm run console:screenshot        (needs Debian's chromium)
import { execFileSync } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTraffic } from './apps/traffic.ts';
import { ChromiumHint, haveChromium, launchChromium } from './browser.ts';
import { RepoRoot, startMesh } from './launcher/mesh.ts';
import { offsetPlan, podAddress } from './topology.ts';

if (!haveChromium()) {
  console.error(`console-screenshot: Chromium is not installed (${ChromiumHint})`);
  process.exit(1);
}
const plan = offsetPlan(150);
const output = join(RepoRoot, 'docs/console.png');
// The console's own build script, as `npm run build -w @strait/console` runs it.
execFileSync(process.execPath, [join(RepoRoot, 'packages/console/src/build.ts')], { stdio: 'inherit' });
const mesh = await startMesh({
  plan,
  stateDir: join(RepoRoot, '.tmp/console-screenshot'),
  logDir: join(RepoRoot, '.tmp/logs/console-screenshot'),
  prometheus: false,
});
const browser = await launchChromium();
try {
  const traffic = startTraffic({
    target: mesh.ingressUrl,
    rate: 10,
    maxInFlight: 8,
    maxRequests: 0,
    durationMs: 0,
    timeoutMs: 10_000,
    reportEverySeconds: 0,
  });
  // One request the egress policy refuses, as `curl -x http://<pod>:15001 http://example.org/` sends it.
  await new Promise<void>((resolve, reject) => {
    const req = request(
      {
        host: podAddress(plan, 'service-b-v1-1'),
        port: 15001,
        path: 'http://example.org/',
        headers: { host: 'example.org' },
      },
      (res) => {
        res.resume();
        res.on('end', resolve);
      },
    );
    req.on('error', reject);
    req.end();
  });
  const page = await browser.context.newPage();
  await page.goto(mesh.consoleUrl);
  await sleep(15_000);
  await page.screenshot({ path: output });
  await traffic.stop();
  console.log(`wrote ${output}`);
} finally {
  await browser.close();
  await mesh.stop();
}
