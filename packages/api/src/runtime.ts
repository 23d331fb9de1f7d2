// How every Strait proxy process is started (npm start, compose.yaml, the benchmark): V8 and malloc
// settings measured to keep a proxy's memory down; bench/README.md has the numbers.
export const ProxyRuntime = {
  /** node flags, before the script: a 2 MB young generation (peak RSS at 1000 req/s 127 -> 107 MB with the arenas below). */
  nodeArgs: ['--max-semi-space-size=2'],
  /** Environment: two malloc arenas instead of eight per core. */
  env: { MALLOC_ARENA_MAX: '2' },
} as const;
