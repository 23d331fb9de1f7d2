// Headless Chromium for the console's browser tests and its screenshot script: Debian's `chromium`
// package driven by playwright-core (playwright's own browser download cannot work on a closed network).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

export const ChromiumPath = process.env.STRAIT_CHROMIUM ?? '/usr/bin/chromium';
export const ChromiumHint = 'apt-get install chromium';

export function haveChromium(): boolean {
  return existsSync(ChromiumPath);
}

/**
 * The flags keep Chromium quiet on a closed network: without the background-networking ones it keeps
 * dialling update, sync and component servers and floods the network with refused connections.
 */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface ConsoleBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Chromium with a fresh profile and a 1280×800 window (the size the console is designed for). */
export async function launchChromium(): Promise<ConsoleBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'strait-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: ChromiumPath,
    args: ARGS,
    headless: true,
    viewport: { width: 1280, height: 800 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
