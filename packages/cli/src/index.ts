// @strait/cli: straitctl as a library (run(argv, io) returns the exit code).
export { CliError, ControlPlaneClient } from './client.ts';
export type { Io } from './output.ts';
export { DEFAULT_SERVER, run } from './program.ts';
