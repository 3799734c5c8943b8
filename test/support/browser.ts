import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium, which .ci/run installs; CHROMIUM_PATH points elsewhere. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Screenshots of the console, kept after the run (git-ignored). */
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../.artifacts/console/', import.meta.url));

// Root in CI needs --no-sandbox; the rest keeps the browser from reaching anything but the test's servers.
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Saves a full-page screenshot as `<name>.png` in SCREENSHOT_DIR and answers its path. */
  screenshot(name: string): Promise<string>;
}

/**
 * One headless chromium with a fresh profile for the test file, closed when the file's tests end. When it
 * cannot start, this throws with the reason and how to fix it: the test fails, never skips.
 */
export async function startBrowser(options: { timezoneId?: string; locale?: string } = {}): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`No chromium at ${CHROMIUM_PATH}. Install it with "apt-get update && apt-get install -y chromium" (.ci/run does), or set CHROMIUM_PATH.`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'rw-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: FLAGS,
      viewport: { width: 1280, height: 860 },
      ...(options.timezoneId ? { timezoneId: options.timezoneId } : {}),
      ...(options.locale ? { locale: options.locale } : {}),
      timeout: 60_000,
    });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw new Error(`chromium at ${CHROMIUM_PATH} did not start: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  after(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  });
  rmSync(SCREENSHOT_DIR, { recursive: true, force: true });
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  return {
    context,
    page,
    screenshot: async (name) => {
      const path = join(SCREENSHOT_DIR, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
  };
}
