// lib/cli/main.ts without root: dispatch, --help and --version, and the usage errors that stop
// before any engine is opened (one line on stderr, exit 2).
import { describe, expect, it } from 'vitest';

import type { Output } from '../../../lib/cli/command.js';
import { main } from '../../../lib/cli/main.js';

async function nlnet(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Output = { out: (t) => void (out += t), err: (t) => void (err += t), prompt: async () => '' };
  const code = await main(argv, io);
  return { code, out, err };
}

describe('nlnet (no root)', () => {
  it('prints the help with no command, with --help, and for groups', async () => {
    for (const argv of [[], ['--help'], ['-h'], ['--state-dir', '/nowhere']]) {
      const r = await nlnet(...argv);
      expect(r, argv.join(' ')).toMatchObject({ code: 0, err: '' });
      expect(r.out).toContain('Usage:  nlnet [OPTIONS] COMMAND');
      expect(r.out).toContain('Exit status:');
    }
    for (const argv of [['network'], ['network', '--help'], ['--help', 'network']]) {
      const r = await nlnet(...argv);
      expect(r.code).toBe(0);
      expect(r.out).toContain('Usage:  nlnet network COMMAND');
      for (const c of ['create', 'connect', 'disconnect', 'inspect', 'ls', 'prune', 'rm']) expect(r.out).toMatch(new RegExp(`\\n  ${c} `));
    }
  });

  it('prints each command\'s help, even with its arguments missing', async () => {
    const cases: [string[], string][] = [
      [['network', 'create', '--help'], 'Usage:  nlnet network create [OPTIONS] NETWORK'],
      [['network', 'ls', '-h'], '--format FORMAT'],
      [['container', 'create', '--help'], '--mac-address MAC'],
      [['container', 'rm', '--help'], 'Usage:  nlnet container rm CONTAINER [CONTAINER...]'],
      [['exec', '--help'], 'Usage:  nlnet exec [OPTIONS] CONTAINER [--] COMMAND [ARG...]'],
      [['run', '--help'], '--rm'],
      [['daemon', '--help'], 'SIGTERM'],
      [['port', '--help'], 'Usage:  nlnet port CONTAINER'],
      [['network', 'list', '--help'], 'Aliases:\n  ls, list'],
    ];
    for (const [argv, text] of cases) {
      const r = await nlnet(...argv);
      expect(r.code, argv.join(' ')).toBe(0);
      expect(r.out, argv.join(' ')).toContain(text);
      expect(r.out).toContain('--host-netns NAME');
    }
  });

  it('--version', async () => {
    const r = await nlnet('--version');
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toMatch(/^nlnet version \d+\.\d+\.\d+\n$/);
  });

  it('usage errors: one line on stderr, exit 2, nothing on stdout', async () => {
    const cases: [string[], string][] = [
      [['frobnicate'], `nlnet: unknown command "frobnicate" for "nlnet"; run 'nlnet --help'\n`],
      [['network', 'frob'], `nlnet: unknown command "frob" for "nlnet network"; run 'nlnet network --help'\n`],
      [['--bogus'], 'nlnet: unknown flag: --bogus\n'],
      [['network', 'create'], 'nlnet: "network create" requires exactly 1 argument (NETWORK)\n'],
      [['network', 'create', 'a', 'b'], 'nlnet: "network create" accepts at most 1 argument (NETWORK), got: b\n'],
      [['network', 'create', '--mtu', 'x', 'a'], 'nlnet: invalid argument "x" for "--mtu" flag: expected a number\n'],
      [['network', 'create', '--subnet', '10.0.0.0/8', '--subnet', '11.0.0.0/8', 'a'], 'nlnet: --subnet given twice for IPv4 (10.0.0.0/8 and 11.0.0.0/8): one subnet per family\n'],
      [['network', 'ls', '--format', 'yaml'], `nlnet: --format: expected "table", "json" or a template such as '{{.Name}}' (got "yaml")\n`],
      [['network', 'connect', 'n'], 'nlnet: "network connect" requires exactly 2 arguments (NETWORK CONTAINER)\n'],
      [['container', 'create'], 'nlnet: "container create" requires --name NAME\n'],
      [['container', 'create', '--name', 'x', '--expose', 'http'], 'nlnet: invalid argument "http" for "--expose" flag: expected a TCP port or range such as 80 or 8000-8010\n'],
      [['container', 'inspect'], 'nlnet: "container inspect" requires at least 1 argument (CONTAINER...)\n'],
      [['exec', 'c1'], 'nlnet: "exec" requires a command to run\n'],
      [['run'], 'nlnet: "run" requires a command to run\n'],
      [['run', '-e', '=x', 'true'], 'nlnet: invalid argument "=x" for "--env" flag: expected KEY=VALUE\n'],
      [['port', 'c1', 'eighty'], 'nlnet: invalid port "eighty": expected PORT or PORT/tcp|udp\n'],
      [['daemon', 'now'], 'nlnet: "daemon" accepts no arguments, got: now\n'],
    ];
    for (const [argv, line] of cases) {
      const r = await nlnet(...argv);
      expect(r, argv.join(' ')).toEqual({ code: 2, out: '', err: line });
    }
  });
});
