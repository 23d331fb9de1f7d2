#!/usr/bin/env node
// The straitctl command: the TypeScript sources in a checkout of the repository (Node 24 strips the types),
// the bundle (dist/straitctl.mjs) where the sources are not shipped: an installed package, the Docker image.
import { existsSync } from 'node:fs';

const sources = new URL('../src/main.ts', import.meta.url);
if (existsSync(sources)) await import(sources.href);
else await import('../dist/straitctl.mjs');
