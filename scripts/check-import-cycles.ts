/**
 * Fails (exit 1) when files of src/ import each other in a circle, or folders do, naming one import of each edge
 * of the circle. A folder is a directory directly under src/; the files directly in src/ form the folder `src`.
 * Every import counts, type-only ones and `export ... from` included: a cycle of types is still a cycle to a
 * reader (ESLint's import-x/no-cycle skips type imports). Run by `npm run lint`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
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
  const parts = file.split(sep);
  return parts.length > 1 ? (parts[0] ?? 'src') : 'src';
};

/** The file under ROOT a relative specifier names (NodeNext's `.js`/`.mjs`/`.cjs` name the `.ts` files), if any. */
function targetOf(file: string, fileName: string): string | undefined {
  // TypeScript takes `\` as a separator and absolute paths.
  const specifier = fileName.replaceAll('\\', '/');
  if (!specifier.startsWith('.') && !isAbsolute(specifier)) return undefined;
  const base = resolve(dirname(file), specifier);
  const candidates = [base.replace(/\.([mc]?)js$/, '.$1ts'), base.replace(/\.jsx$/, '.tsx'), base, `${base}.ts`, join(base, 'index.ts')];
  const found = candidates.find((candidate) => /\.(ts|mts|cts|tsx)$/.test(candidate) && existsSync(candidate)) ?? candidates[0];
  if (found === undefined || relative(ROOT, found).startsWith('..')) return undefined;
  return relative(ROOT, found);
}

type Graph = Map<string, Map<string, string>>;

function addEdge(graph: Graph, from: string, to: string, via: string): void {
  const out = graph.get(from) ?? new Map<string, string>();
  if (!out.has(to)) out.set(to, via);
  graph.set(from, out);
}

/** File -> file and folder -> folder, each edge with one `file imports specifier` that makes it. */
const files: Graph = new Map();
const folders: Graph = new Map();
for (const path of sourceFiles(ROOT)) {
  const file = relative(ROOT, path);
  for (const { fileName } of ts.preProcessFile(readFileSync(path, 'utf8'), true, true).importedFiles) {
    const target = targetOf(path, fileName);
    if (target === undefined) continue;
    const via = `${file} imports ${fileName}`;
    addEdge(files, file, target, via);
    if (folderOf(target) !== folderOf(file)) addEdge(folders, folderOf(file), folderOf(target), via);
  }
}

/** A shortest path from `start` back to itself, if there is one (breadth first). */
function cycleThrough(graph: Graph, start: string): string[] | undefined {
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const at = queue.shift() as string;
    for (const next of graph.get(at)?.keys() ?? []) {
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

/** The sets of nodes that all reach each other (Tarjan's strongly connected components), of more than one node. */
function tangles(graph: Graph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node) ?? 0);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node)?.keys() ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(next) ?? 0));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node) ?? 0, index.get(next) ?? 0));
    }
    if (low.get(node) !== index.get(node)) return;
    const members: string[] = [];
    for (let member = stack.pop(); member !== undefined; member = member === node ? undefined : stack.pop()) {
      onStack.delete(member);
      members.push(member);
    }
    if (members.length > 1 || graph.get(node)?.has(node)) found.push(members.sort());
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return found;
}

/** Reports one shortest cycle of each tangle, with the import that makes each edge; answers how many there were. */
function reportCycles(graph: Graph, kind: string): number {
  const found = tangles(graph);
  for (const members of found) {
    const cycle = cycleThrough(graph, members[0] ?? '') ?? members;
    console.error(`${kind} import cycle: ${cycle.join(' -> ')}${members.length > cycle.length - 1 ? ` (${members.length} ${kind}s import each other: ${members.join(', ')})` : ''}`);
    for (let at = 0; at + 1 < cycle.length; at += 1) console.error(`  ${graph.get(cycle[at] ?? '')?.get(cycle[at + 1] ?? '') ?? ''}`);
  }
  return found.length;
}

const cycles = reportCycles(folders, 'folder') + reportCycles(files, 'file');
if (cycles > 0) process.exit(1);
const folderCount = new Set([...folders.keys(), ...[...folders.values()].flatMap((out) => [...out.keys()])]).size;
console.log(`no import cycles among ${files.size} importing files and ${folderCount} folders of ${relative(process.cwd(), ROOT) || '.'} (type imports included)`);
