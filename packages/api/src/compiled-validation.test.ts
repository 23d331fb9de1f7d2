// The compiled validators agree with the zod schemas they come from: the same snapshots pass (with the same
// defaults filled in), the same broken ones fail, and the committed generated file is what the generator
// makes now (else: npm run generate:validators -w @strait/api).
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileValidators, DECLARATIONS, declarations, OUTPUT } from '../scripts/compile-validators.ts';
import { discoveryMessageIssues, resourceIssues } from './compiled-validation.ts';
import { splitSnapshot } from './discovery-resources.ts';
import { RESOURCE_SCHEMAS } from './discovery-schemas.ts';
import { SnapshotSchema } from './snapshot.ts';
import { checkSnapshot } from './validate.ts';
import { DiscoveryMessageSchema } from './xds.ts';

const GOLDEN = new URL('../../control-plane/src/translate/__golden__/', import.meta.url).pathname;
const goldens = readdirSync(GOLDEN)
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(`${GOLDEN}${f}`, 'utf8')) as Record<string, unknown>);

/** Ways to break a snapshot, each at one field. */
// biome-ignore lint/suspicious/noExplicitAny: each break reaches into the JSON at one field.
type Json = any;
const BREAKS: ((s: Json) => void)[] = [
  (s) => {
    s.listeners[0].port = 70000;
  },
  (s) => {
    s.listeners[0].extra = true;
  },
  (s) => {
    delete s.clusters[0].name;
  },
  (s) => {
    s.clusters[0].lbPolicy = 'FASTEST';
  },
  (s) => {
    s.clusters[0].endpoints.push({ address: '', port: 1 });
  },
  (s) => {
    s.listeners[0].virtualHosts[0].routes[0].directResponse = { status: 200 };
  },
  (s) => {
    s.listeners[0].virtualHosts[0].domains = [];
  },
  (s) => {
    s.telemetry = { accessLog: 'yes' };
  },
  (s) => {
    s.listeners[0].kind = 42;
  },
];

describe('compiled validators', () => {
  it('are what the generator makes from the zod schemas now', () => {
    expect(readFileSync(OUTPUT, 'utf8'), 'run: npm run generate:validators -w @strait/api').toBe(
      compileValidators(),
    );
    expect(readFileSync(DECLARATIONS, 'utf8')).toBe(declarations());
  });

  it('accept what zod accepts, with the same defaults', () => {
    expect(goldens.length).toBeGreaterThan(3);
    for (const golden of goldens) {
      const checked = checkSnapshot(golden);
      expect(checked.issues).toEqual([]);
      expect(checked.snapshot).toEqual(SnapshotSchema.parse(golden));
    }
  });

  it('refuse what zod refuses, naming the field', () => {
    for (const [i, brk] of BREAKS.entries()) {
      const broken = structuredClone(goldens[1]) as Json;
      brk(broken);
      const zod = SnapshotSchema.safeParse(broken);
      const compiled = checkSnapshot(broken);
      expect({ i, zodRefused: !zod.success }).toEqual({ i, zodRefused: true });
      expect({ i, compiledRefused: compiled.issues.length > 0 }).toEqual({ i, compiledRefused: true });
      expect(compiled.issues[0]?.path).toMatch(/^(listeners|clusters|telemetry)/);
    }
  });

  it('check each discovery resource as its zod schema does', () => {
    for (const golden of goldens) {
      for (const r of splitSnapshot(golden as never)) {
        expect(resourceIssues(r.type, structuredClone(r.resource))).toEqual([]);
        expect(RESOURCE_SCHEMAS[r.type].safeParse(r.resource).success).toBe(true);
        const broken = { ...(r.resource as object), unexpected: 1 };
        expect(resourceIssues(r.type, broken)[0]?.message).toBe('unknown field "unexpected"');
        expect(RESOURCE_SCHEMAS[r.type].safeParse(broken).success).toBe(false);
      }
    }
  });

  it('check stream messages as zod does', () => {
    const good = [
      { type: 'heartbeat', time: 1 },
      { type: 'delta', version: 'v', nonce: 'n', resources: [], removed: [] },
    ];
    const bad = [
      { type: 'heartbeat' },
      { type: 'delta', version: '', nonce: 'n', resources: [], removed: [] },
      { type: 'x' },
    ];
    for (const m of good)
      expect([discoveryMessageIssues(m), DiscoveryMessageSchema.safeParse(m).success]).toEqual([[], true]);
    for (const m of bad) {
      expect(discoveryMessageIssues(m).length).toBeGreaterThan(0);
      expect(DiscoveryMessageSchema.safeParse(m).success).toBe(false);
    }
  });
});
