// straitctl's commands (commander). `run` returns the exit code, so tests can call it in-process.
import { Ports } from '@strait/api';
import { Command, CommanderError } from 'commander';
import { CliError, ControlPlaneClient } from './client.ts';
import { analyze } from './commands/analyze.ts';
import { apply, remove, removeOne } from './commands/apply.ts';
import { authzCheck } from './commands/authz.ts';
import { describePodCommand, describeRequestCommand } from './commands/describe.ts';
import { get } from './commands/get.ts';
import { proxyConfig, proxyStatus } from './commands/proxy.ts';
import { type TracesOptions, traces } from './commands/traces.ts';
import { resolveToken } from './credentials.ts';
import type { Io } from './output.ts';

export const DEFAULT_SERVER = `http://127.0.0.1:${Ports.discovery}`;

export async function run(
  argv: readonly string[],
  io: Io,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let code = 0;
  const program = new Command('straitctl')
    .description('Configure and inspect a Strait mesh (like istioctl).')
    .option(
      '-s, --server <url>',
      "control plane address, or every replica's comma-separated (env STRAIT_SERVER)",
      env.STRAIT_SERVER ?? DEFAULT_SERVER,
    )
    .option(
      '--token <token>',
      'API token for writes and snapshots (env STRAIT_TOKEN; else the file in STRAIT_TOKEN_FILE, else ~/.config/strait/token)',
    )
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError();
  const client = () => {
    const o = program.opts<{ server: string; token?: string }>();
    return new ControlPlaneClient({ server: o.server, token: resolveToken(o.token, env) });
  };
  const files = (value: string, previous: string[] = []) => [...previous, value];

  program
    .command('apply')
    .description('create or update resources from files, a directory or stdin (-)')
    .requiredOption('-f, --filename <path>', 'FILE, DIR or - (repeatable)', files)
    .action(async (o: { filename: string[] }) => {
      code = await apply(client(), io, o.filename);
    });
  program
    .command('delete')
    .description('delete the resources named in files, or one KIND NAME')
    .argument('[kind]')
    .argument('[name]')
    .option('-f, --filename <path>', 'FILE, DIR or - (repeatable)', files)
    .action(async (kind: string | undefined, name: string | undefined, o: { filename?: string[] }) => {
      if (o.filename) code = await remove(client(), io, o.filename);
      else if (kind && name) code = await removeOne(client(), io, kind, name);
      else throw new CliError('delete needs -f FILE or KIND NAME.');
    });
  program
    .command('get')
    .description('list resources of a kind (or "all"), or show one')
    .argument('<kind>')
    .argument('[name]')
    .option('-o, --output <format>', 'yaml or json')
    .action(async (kind: string, name: string | undefined, o: { output?: string }) => {
      code = await get(client(), io, kind, name, o.output);
    });
  program
    .command('proxy-status')
    .alias('ps')
    .description('every proxy, its role and whether it runs the latest config (SYNCED, STALE, NACKED)')
    .option('-o, --output <format>', 'json')
    .action(async (o: { output?: string }) => {
      code = await proxyStatus(client(), io, o.output);
    });
  program
    .command('proxy-config')
    .alias('pc')
    .description("one proxy's routes, clusters or endpoints, or its mesh certificates (secret)")
    .argument('<what>', 'routes | clusters | endpoints | secret | all')
    .argument('<proxy>', 'proxy id')
    .option('-o, --output <format>', 'json')
    .action(async (what: string, proxy: string, o: { output?: string }) => {
      code = await proxyConfig(client(), io, what, proxy, o.output);
    });
  const describe = program
    .command('describe')
    .description('why a request goes where it goes (request), or who reaches a pod and how much (pod)');
  describe
    .command('request')
    .description(
      "explain a request from one proxy's config: listener, route, near misses, endpoints, outcome",
    )
    .argument('<url>', 'the request, e.g. http://service-b/path')
    .requiredOption('--from <proxy>', 'proxy id that sends (a sidecar) or receives (a gateway) the request')
    .option('-H, --header <header>', '"name: value" (repeatable)', files)
    .option('-X, --method <method>', 'request method', 'GET')
    .option(
      '--listener <name>',
      "listener name or port (default: the proxy role's: outbound, gateway, egress)",
    )
    .option('-o, --output <format>', 'json')
    .action(
      async (
        url: string,
        o: { from: string; header?: string[]; method?: string; listener?: string; output?: string },
      ) => {
        code = await describeRequestCommand(client(), io, o.from, url, o);
      },
    );
  describe
    .command('pod')
    .description('which proxies route to a pod, and with which share of their traffic')
    .argument('<pod>', 'proxy id of the pod, e.g. service-b-v1-1')
    .option('-o, --output <format>', 'json')
    .action(async (pod: string, o: { output?: string }) => {
      code = await describePodCommand(client(), io, pod, o.output);
    });
  program
    .command('traces')
    .description('recent traces, and one drawn as a waterfall (the newest, or --id)')
    .option('--service <name>', 'only traces through this service (service-a, or service-a.default)')
    .option('--id <traceId>', 'draw this trace')
    .option('--min-duration <ms>', 'only traces at least this long')
    .option('--limit <n>', 'how many traces to list (default 10)')
    .option('-o, --output <format>', 'json')
    .action(async (o: TracesOptions) => {
      code = await traces(client(), io, o);
    });
  const experimental = program
    .command('x')
    .alias('experimental')
    .description('experimental commands (as istioctl x)');
  experimental
    .command('authz')
    .description('authorization')
    .command('check')
    .description("the AuthorizationPolicies in force on a proxy's workload (like istioctl x authz check)")
    .argument('<proxy>', 'proxy id')
    .option('-o, --output <format>', 'json')
    .action(async (proxy: string, o: { output?: string }) => {
      code = await authzCheck(client(), io, proxy, o.output);
    });
  program
    .command('analyze')
    .description('validate configuration files offline (exit 1 on errors)')
    .requiredOption('-f, --filename <path>', 'FILE, DIR or - (repeatable)', files)
    .action(async (o: { filename: string[] }) => {
      code = await analyze(io, o.filename);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof CliError) {
      io.err(`Error: ${err.message}\n`);
      return 1;
    }
    io.err(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
