// Writes the Grafana dashboards into docker/grafana/dashboards/: `node packages/demo/src/dashboards/write.ts`.
// The JSON files are committed; a test checks they match what this writes.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderDashboards } from './dashboards.ts';

export const DashboardDir = fileURLToPath(new URL('../../../../docker/grafana/dashboards/', import.meta.url));

export function dashboardFileText(json: Record<string, unknown>): string {
  return `${JSON.stringify(json, null, 2)}\n`;
}

if (import.meta.main) {
  for (const [file, json] of renderDashboards()) {
    writeFileSync(join(DashboardDir, file), dashboardFileText(json));
    console.log(`wrote ${join(DashboardDir, file)}`);
  }
}
