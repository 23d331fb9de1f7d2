// promtool (Debian's prometheus package) as a judge of our Prometheus exposition. Locally a test that needs
// it is skipped when it is missing (apt-get install prometheus); under CI=true it never skips.
import { spawnSync } from 'node:child_process';

const installed = spawnSync('promtool', ['--version']).status === 0;

/** True when a promtool test must be skipped: promtool is missing and this is not CI. */
export const skipWithoutPromtool = !installed && process.env.CI !== 'true';

/**
 * What `promtool check metrics` says about an exposition, minus Node's default process metrics and the
 * one note we accept: istio_request_duration_milliseconds is not in base units (Istio's own name).
 */
export function promtoolNotes(exposition: string): string[] {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  return `${run.stdout}${run.stderr}`
    .split('\n')
    .filter((l) => l.trim() !== '')
    .filter((l) => !/^(nodejs_|process_)/.test(l))
    .filter((l) => !(l.startsWith('istio_request_duration_milliseconds') && l.includes('base unit')));
}
