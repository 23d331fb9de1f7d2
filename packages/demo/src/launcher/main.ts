// `npm start`: the whole demo mesh as local processes on the addresses of docs/architecture.md, until Ctrl-C.
// Options: --follow (print every process's log lines), --no-prometheus, --traffic RATE, --ha (two control-plane
// replicas on a three-member etcd cluster).
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { userTokenFile } from '@strait/api';
import { ControlPlane, Egress, ExternalApi, Ingress, LocalPlan, Pods, podAddress } from '../topology.ts';
import { followLogs } from './follow.ts';
import { type Mesh, RepoRoot, startMesh } from './mesh.ts';
import { liveProcesses } from './processes.ts';

const HELP = `usage: npm start -- [--follow] [--no-prometheus] [--traffic RATE] [--ha]
  --follow          print every process's log lines here (they are always kept in .tmp/logs/)
  --ha              two control-plane replicas sharing a three-member etcd cluster (apt-get install etcd-server)
  --no-prometheus   do not start Prometheus even when it is installed
  --traffic RATE    also run the traffic generator at RATE requests per second`;

function summary(mesh: Mesh): string {
  const plan = mesh.plan;
  const ha = mesh.controlPlaneUrls.length > 1;
  const ctl = ha
    ? `STRAIT_SERVER=${mesh.controlPlaneUrls.join(',')} npm run straitctl --`
    : 'npm run straitctl --';
  const b1 = podAddress(plan, 'service-b-v1-1');
  const logs = relative(process.cwd(), mesh.logDir) || '.';
  const pods = Pods.map((p) => `    ${p.id.padEnd(16)} ${podAddress(plan, p.id)}`).join('\n');
  return `
Strait demo mesh is up.

Console: ${mesh.consoleUrl}  (live service graph, proxies, config and egress)

Try:
  curl -s ${mesh.ingressUrl}
      ingress -> service-a -> service-b (v1 90% / v2 10%) -> egress -> ${ExternalApi.host}
  curl -s -i -x http://${b1}:15001 http://example.org/
      refused by the egress policy (403): only ${ExternalApi.host} is allowed out
  ${ctl} proxy-status
      (straitctl sends the API token kept in ${mesh.apiTokenFile})
  ${ctl} apply -f packages/demo/mesh/canary.yaml
      moves service-b to 50/50

Addresses:
    control plane    ${plan.controlPlane}:${ControlPlane.discoveryPort} (discovery, /v1/resources, /v1/proxies)
${ha ? `    replica B        ${plan.controlPlaneReplica}:${ControlPlane.discoveryPort} (same ports; proxies fail over between the two)\n    etcd             ${mesh.etcd?.endpoints.join(', ')} (logs etcd-1..3.log)\n` : ''}    console          ${mesh.consoleUrl}
    ingress          ${plan.ingress}:${Ingress.port}
${pods}
    egress gateway   ${plan.egress}:${Egress.port}
    external API     ${plan.externalApi}:${ExternalApi.appPort} (${ExternalApi.host}, outside the mesh)

Metrics:
    every proxy      http://<address>:15090/stats/prometheus (e.g. http://${b1}:15090/stats/prometheus)
    control plane    ${mesh.monitoringUrl}/metrics; targets for Prometheus at ${mesh.monitoringUrl}/v1/prometheus/targets
    Prometheus       ${mesh.prometheusUrl ?? 'not running (apt-get install prometheus, then restart)'}

Logs: ${logs}/<process>.log, e.g. tail -f ${logs}/service-b-v1-1-sidecar.log (or npm start -- --follow)
Ctrl-C stops everything.
`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      follow: { type: 'boolean', default: false },
      'no-prometheus': { type: 'boolean', default: false },
      traffic: { type: 'string' },
      ha: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const trafficRate = values.traffic === undefined ? 0 : Number(values.traffic);
  if (!Number.isFinite(trafficRate) || trafficRate < 0) {
    throw new Error(`--traffic needs a rate in requests per second, got "${values.traffic}"`);
  }

  let mesh: Mesh | undefined;
  let stopping = false;
  const starting = new AbortController();
  const shutdown = async (code: number) => {
    if (stopping) {
      for (const p of liveProcesses) p.signal('SIGKILL');
      return;
    }
    stopping = true;
    console.log('\nstopping the mesh…');
    starting.abort();
    await mesh?.stop();
    console.log('stopped; nothing left running.');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  // A last resort if the launcher dies some other way: take the children with it.
  process.on('exit', () => {
    for (const p of liveProcesses) p.signal('SIGKILL');
  });

  console.log(`starting the demo mesh from ${RepoRoot}`);
  mesh = await startMesh({
    plan: LocalPlan,
    prometheus: values['no-prometheus'] ? false : 'auto',
    trafficRate,
    ha: values.ha,
    signal: starting.signal,
    progress: (m) => console.log(`  ${m}`),
    // straitctl finds the API token here with no extra step (like kubectl's ~/.kube/config).
    apiTokenFile: userTokenFile(),
  });
  if (stopping) return;
  console.log(summary(mesh));
  if (values.follow) {
    followLogs(
      [...mesh.processes.values()].map((p) => p.logFile),
      (line) => console.log(line),
    );
  }
  for (const p of mesh.processes.values()) {
    void p.exited.then((code) => {
      if (!stopping) console.error(`! ${p.name} exited (code ${code}); see ${p.logFile}`);
    });
  }
}

main().catch((err: unknown) => {
  console.error(`npm start failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
