// The control plane for the convergence benchmark, embedded without its CA: simulated proxies (xds-sim.ts)
// open plain discovery streams, so the benchmark measures the push path itself (translation, deltas,
// ACKs), as before mutual TLS. Takes the command's flags that convergence.ts passes.
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { ControlPlane } from '../../packages/control-plane/src/control-plane.ts';

const { values } = parseArgs({
  options: {
    'config-dir': { type: 'string' },
    address: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '15010' },
    'monitoring-port': { type: 'string', default: '15014' },
    'no-state': { type: 'boolean' },
    store: { type: 'string' },
    'replica-id': { type: 'string' },
    'log-level': { type: 'string', default: 'warn' },
  },
});
if (!values['config-dir']) throw new Error('--config-dir is required');
const plane = new ControlPlane({
  configDir: values['config-dir'],
  address: values.address,
  port: Number(values.port),
  monitoringPort: Number(values['monitoring-port']),
  ...(values['no-state'] ? { stateFile: false as const } : {}),
  ...(values.store ? { store: values.store } : {}),
  ...(values['replica-id'] ? { replicaId: values['replica-id'] } : {}),
  logger: pino({ name: 'strait-control-plane', level: values['log-level'] }),
});
await plane.start();
for (const signal of ['SIGTERM', 'SIGINT'] as const)
  process.on(signal, () => void plane.stop().then(() => process.exit(0)));
