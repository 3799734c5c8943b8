import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { build } from 'esbuild';

/** The console's sources (browser TypeScript, the page and its stylesheet) and where the app serves them from. */
export const consolePaths = (root: string) => ({ sources: join(root, 'web', 'console'), out: join(root, 'dist', 'console') });

const STATIC_FILES = ['index.html', 'console.css', 'icon.svg'];

function newestMtime(dir: string): number {
  return Math.max(0, ...readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).map((entry) => statSync(join(entry.parentPath, entry.name)).mtimeMs));
}

/** Writes by rename, so a runtime reading the folder meanwhile sees a whole old or a whole new file. */
function writeAtomically(path: string, contents: Uint8Array | string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, path);
}

/** Bundles the console (all its libraries included) into dist/console; `onlyIfStale` skips it when the output is newer. */
export async function buildConsole(root: string, options: { onlyIfStale?: boolean } = {}): Promise<{ built: boolean; out: string }> {
  const { sources, out } = consolePaths(root);
  if (options.onlyIfStale) {
    let outputTime: number;
    try {
      outputTime = Math.min(...['console.js', ...STATIC_FILES].map((file) => statSync(join(out, file)).mtimeMs));
    } catch {
      outputTime = 0;
    }
    if (outputTime > Math.max(newestMtime(sources), statSync(join(root, 'src', 'webhooks', 'events.ts')).mtimeMs)) return { built: false, out };
  }
  const result = await build({
    entryPoints: [join(sources, 'main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    sourcemap: 'linked',
    legalComments: 'eof',
    outdir: out,
    entryNames: 'console',
    write: false,
    logLevel: 'silent',
  });
  mkdirSync(out, { recursive: true });
  for (const file of result.outputFiles) writeAtomically(file.path, file.contents);
  for (const file of STATIC_FILES) writeAtomically(join(out, basename(file)), readFileSync(join(sources, file)));
  return { built: true, out };
}
