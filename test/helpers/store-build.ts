// The store compiled to plain JavaScript in a temp directory, for the child processes of the store
// tests (test/helpers/store-worker.mjs): Node 20 cannot import .ts, and a child must be a separate
// process to hold a lock of its own or to die by SIGKILL part-way through a commit.
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import ts from 'typescript';

const root = join(import.meta.dirname, '..', '..');
export const STORE_WORKER = join(root, 'test', 'helpers', 'store-worker.mjs');

export interface StoreBuild {
  /** The compiled lib/network/store/file.js: the first argument of store-worker.mjs. */
  file: string;
  remove(): Promise<void>;
}

/** Transpiles lib/core/errors.ts and every file of lib/network/store/ (world-readable: see store-bad-state). */
export async function buildStore(): Promise<StoreBuild> {
  const build = await mkdtemp(join(tmpdir(), 'nlnet-store-build-'));
  await writeFile(join(build, 'package.json'), '{"type":"module"}');
  const storeDir = join('lib', 'network', 'store');
  const files = ['lib/core/errors.ts', ...(await readdir(join(root, storeDir))).filter((n) => n.endsWith('.ts')).map((n) => join(storeDir, n))];
  for (const file of files) {
    const source = await readFile(join(root, file), 'utf8');
    const out = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } });
    const dest = join(build, file.replace(/\.ts$/, '.js'));
    await mkdir(dirname(dest), { recursive: true });
    await writeFile(dest, out.outputText);
  }
  await chmod(build, 0o755);
  return { file: join(build, storeDir, 'file.js'), remove: () => rm(build, { recursive: true, force: true }) };
}
