import { createHash, X509Certificate } from 'node:crypto';
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

/** Another test file's screenshots beside the console's, in `.artifacts/<name>/`, so parallel files do not erase each other's. */
export const screenshotDir = (name: string): string => fileURLToPath(new URL(`../../.artifacts/${name}/`, import.meta.url));

// Root in CI needs --no-sandbox; the rest keeps the browser from reaching anything but the test's servers.
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * The chromium flag that trusts one certificate's key (a test server's self-signed certificate) and no other:
 * `--ignore-certificate-errors-spki-list` with the SHA-256 of its public key, not `--ignore-certificate-errors`.
 */
export function trustingCertificate(pem: string): string {
  const spki = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
  return `--ignore-certificate-errors-spki-list=${createHash('sha256').update(spki).digest('base64')}`;
}

export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Saves a full-page screenshot as `<name>.png` in the screenshot folder and answers its path. */
  screenshot(name: string): Promise<string>;
}

/**
 * One headless chromium with a fresh profile for the test file, closed when the file's tests end. When it
 * cannot start, this throws with the reason and how to fix it: the test fails, never skips. `args` adds
 * chromium flags; `screenshots` is the folder (emptied first), SCREENSHOT_DIR by default.
 */
export async function startBrowser(options: { timezoneId?: string; locale?: string; args?: string[]; screenshots?: string } = {}): Promise<TestBrowser> {
  const shots = options.screenshots ?? SCREENSHOT_DIR;
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`No chromium at ${CHROMIUM_PATH}. Install it with "apt-get update && apt-get install -y chromium" (.ci/run does), or set CHROMIUM_PATH.`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'rw-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [...FLAGS, ...(options.args ?? [])],
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
  rmSync(shots, { recursive: true, force: true });
  mkdirSync(shots, { recursive: true });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  return {
    context,
    page,
    screenshot: async (name) => {
      const path = join(shots, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
  };
}
