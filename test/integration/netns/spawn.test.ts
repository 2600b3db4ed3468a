// spawnInNetns's `output`: the command's stdout and stderr appended to a file (the demo's etcd
// logs there), made if missing, opened in the caller's mount namespace; a path that cannot be
// opened is a SpawnError naming it. Needs no namespace, so no root.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { SpawnError, spawnInNetns } from '../../../lib/netns/spawn.js';
import { ValidationError } from '../../../lib/core/errors.js';

describe('spawnInNetns output', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nlnet-spawn-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('appends stdout and stderr to the file, made with mode 0600 if missing', async () => {
    const file = join(dir, 'out.log');
    const run = spawnInNetns({ argv: ['/bin/sh', '-c', 'echo to-stdout; echo to-stderr >&2'], output: file });
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(await readFile(file, 'utf8')).toBe('to-stdout\nto-stderr\n');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await spawnInNetns({ argv: ['/bin/sh', '-c', 'echo again'], output: file }).exited;
    expect(await readFile(file, 'utf8')).toBe('to-stdout\nto-stderr\nagain\n');
  });

  it('a file that cannot be opened fails the start, naming it', async () => {
    await writeFile(join(dir, 'plain'), '');
    const bad = join(dir, 'plain', 'out.log');
    const err = await spawnInNetns({ argv: ['/bin/true'], output: bad }).exited.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpawnError);
    expect(err).toMatchObject({ syscall: 'open', path: bad, code: 'ENOTDIR' });
  });

  it('refuses an empty path', () => {
    expect(() => spawnInNetns({ argv: ['/bin/true'], output: '' })).toThrow(ValidationError);
  });
});
