import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The Bicep compiler, from the NuGet package `Azure.Bicep.CommandLine.linux-x64` at a pinned version,
 * restored by `tools/bicep/bicep-cli.csproj` into `tools/packages` (git-ignored) the first time it is needed.
 */
export const BICEP_VERSION = '0.49.2';
const root = fileURLToPath(new URL('..', import.meta.url));
const binary = join(root, 'tools/packages/azure.bicep.commandline.linux-x64', BICEP_VERSION, 'tools/bicep');

export function bicepPath(): string {
  if (!existsSync(binary)) {
    const restore = spawnSync('dotnet', ['restore', join(root, 'tools/bicep/bicep-cli.csproj'), '--packages', join(root, 'tools/packages')], { encoding: 'utf8' });
    if (restore.status !== 0 || !existsSync(binary)) {
      throw new Error(`could not restore the Bicep compiler with dotnet (is the .NET SDK installed?):\n${restore.stdout}${restore.stderr}`);
    }
  }
  chmodSync(binary, 0o755);
  return binary;
}

export interface BicepRun {
  output: string;
  /** Every warning and error the compiler or linter reported. */
  diagnostics: string[];
  ok: boolean;
}

/** Runs bicep; any warning or error counts as a failure, because bicep exits 0 on warnings. */
export function runBicep(args: string[]): BicepRun {
  const result = spawnSync(bicepPath(), args, { cwd: root, encoding: 'utf8', env: { ...process.env, BICEP_TRACING_ENABLED: 'false' } });
  const output = `${result.stdout}${result.stderr}`;
  const diagnostics = output.split('\n').filter((line) => /: (Warning|Error) /.test(line));
  return { output, diagnostics, ok: result.status === 0 && diagnostics.length === 0 };
}

/** Compiles a .bicep file to ARM JSON and answers the template; throws with the diagnostics if any. */
export function compileBicep(file: string): Record<string, unknown> {
  const outdir = mkdtempSync(join(tmpdir(), 'bicep-'));
  const run = runBicep(['build', file, '--outdir', outdir]);
  if (!run.ok) throw new Error(`bicep build ${file} failed:\n${run.output}`);
  const name = file.split('/').pop()?.replace(/\.bicep$/, '.json') ?? 'main.json';
  return JSON.parse(readFileSync(join(outdir, name), 'utf8')) as Record<string, unknown>;
}
