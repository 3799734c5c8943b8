/**
 * Fails (exit 1) when the folders of src/ import each other in a circle, naming one file import of each edge
 * of the circle. A folder is a directory directly under src/; the files directly in src/ form the folder `src`.
 * Type-only imports count: a cycle of types is still a cycle to a reader. Run by `npm run lint`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(process.argv[2] ?? 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|cts|tsx)$/.test(entry.name) && !/\.d\.[mc]?ts$/.test(entry.name) ? [path] : [];
  });
}

const folderOf = (file: string): string => {
  const parts = relative(ROOT, file).split(sep);
  return parts.length > 1 ? (parts[0] ?? 'src') : 'src';
};

/** Folder -> folder -> one `file -> import` that makes the edge. */
const edges = new Map<string, Map<string, string>>();
for (const file of sourceFiles(ROOT)) {
  const from = folderOf(file);
  for (const { fileName } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
    // TypeScript takes `\` as a separator and absolute paths; NodeNext's `.js`/`.mjs`/`.cjs` name the `.ts` files.
    const specifier = fileName.replaceAll('\\', '/');
    if (!specifier.startsWith('.') && !isAbsolute(specifier)) continue;
    const target = resolve(dirname(file), specifier.replace(/\.([mc]?)js$/, '.$1ts'));
    if (relative(ROOT, target).startsWith('..')) continue;
    const to = folderOf(target);
    if (to === from) continue;
    const out = edges.get(from) ?? new Map<string, string>();
    if (!out.has(to)) out.set(to, `${relative(ROOT, file)} imports ${fileName}`);
    edges.set(from, out);
  }
}

/** A shortest path of folders from `start` back to itself, if there is one (breadth first). */
function cycleThrough(start: string): string[] | undefined {
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const at = queue.shift() as string;
    for (const next of edges.get(at)?.keys() ?? []) {
      if (next === start) {
        const path = [at];
        while (path[0] !== start) path.unshift(previous.get(path[0] as string) as string);
        return [...path, start];
      }
      if (!previous.has(next)) {
        previous.set(next, at);
        queue.push(next);
      }
    }
  }
  return undefined;
}

const reported = new Set<string>();
let failed = false;
for (const folder of [...edges.keys()].sort()) {
  const cycle = cycleThrough(folder);
  if (!cycle) continue;
  const key = [...new Set(cycle)].sort().join(',');
  if (reported.has(key)) continue;
  reported.add(key);
  failed = true;
  console.error(`folder import cycle: ${cycle.join(' -> ')}`);
  for (let index = 0; index + 1 < cycle.length; index += 1) {
    console.error(`  ${cycle[index] ?? ''} -> ${cycle[index + 1] ?? ''}: ${edges.get(cycle[index] ?? '')?.get(cycle[index + 1] ?? '') ?? ''}`);
  }
}
if (failed) process.exit(1);
console.log(`no folder import cycles among ${new Set([...edges.keys(), ...[...edges.values()].flatMap((out) => [...out.keys()])]).size} folders of ${relative(process.cwd(), ROOT) || '.'}`);
