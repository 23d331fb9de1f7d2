// Entry point for the demo programs: `node packages/demo/src/main.ts <service-a|service-b|external-api|traffic|probe URL>`.
// Settings come from environment variables (see the apps' *OptionsFromEnv functions and the README).
import { externalApiOptionsFromEnv, startExternalApi } from './apps/external-api.ts';
import { meshServiceOptionsFromEnv, type RunningApp, startMeshService } from './apps/mesh-service.ts';
import { startTraffic, trafficOptionsFromEnv } from './apps/traffic.ts';
import { Upstreams } from './topology.ts';

const USAGE = 'usage: node packages/demo/src/main.ts <service-a|service-b|external-api|traffic|probe URL>';

function stopOnSignals(stop: () => Promise<unknown>): void {
  let stopping = false;
  const handler = () => {
    if (stopping) process.exit(1);
    stopping = true;
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

/** A container health check: exit 0 when URL answers 2xx within two seconds. */
async function probe(url: string | undefined): Promise<void> {
  if (!url) throw new Error(`probe needs a URL\n${USAGE}`);
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  process.exit(res.ok ? 0 : 1);
}

async function main(argv: string[]): Promise<void> {
  const [program, arg] = argv;
  const env = process.env;
  let app: RunningApp;
  switch (program) {
    case 'service-a':
    case 'service-b': {
      const options = meshServiceOptionsFromEnv(program, env);
      if (!options.upstreamUrl) options.upstreamUrl = Upstreams[program];
      app = await startMeshService(options);
      break;
    }
    case 'external-api':
      app = await startExternalApi(externalApiOptionsFromEnv(env));
      break;
    case 'traffic': {
      const traffic = startTraffic(trafficOptionsFromEnv(env));
      stopOnSignals(traffic.stop);
      const stats = await traffic.done;
      console.log(JSON.stringify({ msg: 'traffic finished', ...stats }));
      process.exit(0);
      return;
    }
    case 'probe':
      await probe(arg);
      return;
    default:
      throw new Error(program ? `unknown program "${program}"\n${USAGE}` : USAGE);
  }
  stopOnSignals(() => app.close());
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
