// How every Strait proxy process is started (npm start, compose.yaml, the benchmark): V8 and malloc
// settings measured to keep a proxy's memory down; bench/README.md has the numbers.
export const ProxyRuntime = {
  /**
   * node flags, before the script. A 2 MB young generation; and llhttp (undici's HTTP/1.1 parser, in
   * WebAssembly) kept on V8's baseline compiler, whose optimising tier needs ~30 MB of compiler memory at
   * its peak for no gain a proxy can measure. Neither can be set from NODE_OPTIONS or at run time.
   */
  nodeArgs: ['--max-semi-space-size=2', '--liftoff-only'],
  /** Environment: two malloc arenas instead of eight per core. */
  env: { MALLOC_ARENA_MAX: '2' },
} as const;
