// Reads the demo apps' settings from environment variables, with clear errors for bad values.

export type Env = Record<string, string | undefined>;

export function envString(env: Env, name: string, fallback: string): string {
  const value = env[name];
  return value === undefined || value === '' ? fallback : value;
}

export function envNumber(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`${name} must be a number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

export function envPort(env: Env, name: string, fallback: number): number {
  const port = envNumber(env, name, fallback, 0, 65535);
  if (!Number.isInteger(port)) throw new Error(`${name} must be a whole port number, got "${env[name]}"`);
  return port;
}
