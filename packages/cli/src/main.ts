// straitctl: node packages/cli/src/main.ts <command> ... (server from --server or STRAIT_SERVER).
import { readStdin } from './files.ts';
import { run } from './program.ts';

const code = await run(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  stdin: readStdin,
});
process.exitCode = code;
