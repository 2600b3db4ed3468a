// lib/cli/program.ts: the command line read with docker's (pflag's) conventions, through the
// commander program built from the declarations, and the flag-to-option mapping of the commands
// (network.ts, container.ts). No root, no kernel.
import { describe, expect, it } from 'vitest';

import { UsageError, type Command, type FlagSpec, type Output, type Parsed } from '../../../lib/cli/command.js';
import { containerGroup, createSandboxOptions, exposedPorts } from '../../../lib/cli/container.js';
import { createNetworkOptions, keyValues, networkGroup } from '../../../lib/cli/network.js';
import { parseCommandLine, type Invocation, type Tree } from '../../../lib/cli/program.js';

const FLAGS: FlagSpec[] = [
  { name: 'driver', short: 'd', kind: 'string', help: '' },
  { name: 'internal', kind: 'bool', help: '' },
  { name: 'opt', short: 'o', kind: 'list', help: '' },
  { name: 'force', short: 'f', kind: 'bool', help: '' },
  { name: 'quiet', short: 'q', kind: 'bool', help: '' },
  { name: 'alias', aliases: ['network-alias'], kind: 'list', help: '' },
  { name: 'rm', kind: 'bool', default: true, help: '' },
  { name: 'no-trunc', kind: 'bool', help: '' },
];

/** A command of the test's own, as `nlnet network create` (or `nlnet exec` for a command line). */
const command = (over: Partial<Command> = {}): Command => ({ name: 'create', usage: '[OPTIONS] NAME', summary: 'Create', flags: FLAGS, args: ['NAME'], min: 1, max: 1, run: async () => 0, ...over });

function read(tree: Tree, argv: string[]): { invocation: Invocation; out: string } {
  let out = '';
  const io: Output = { out: (t) => void (out += t), err: (t) => void expect.fail(`stderr: ${t}`), prompt: async () => '' };
  return { invocation: parseCommandLine(argv, tree, io), out };
}

const inGroup = (cmd: Command): Tree => ({ groups: [{ name: 'network', summary: 'Manage networks', commands: [cmd] }], commands: [], version: () => 'nlnet version 9.9.9\n' });
const topLevel = (cmd: Command): Tree => ({ groups: [], commands: [cmd], version: () => 'nlnet version 9.9.9\n' });

/** `nlnet network create ARGV…` with `cmd` as `create`: what the command gets. */
function parse(cmd: Command, argv: string[], prefix = ['network', 'create']): Parsed {
  const { invocation } = read(inGroup(cmd), [...prefix, ...argv]);
  if (invocation.kind !== 'run') throw new Error(`printed: ${argv.join(' ')}`);
  return invocation.parsed;
}

/** The usage error for `nlnet ARGV…`. */
function usage(tree: Tree, argv: string[]): string {
  try {
    read(tree, argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`parsed: ${argv.join(' ')}`);
}

describe('the command line', () => {
  const c = command();
  const fails = (...argv: string[]): string => usage(inGroup(c), ['network', 'create', ...argv]);

  it('takes long flags as --flag value and --flag=value, anywhere among the arguments', () => {
    const p = parse(c, ['--driver', 'bridge', 'n1', '--opt=a=b', '--opt', 'c=d']);
    expect(p.string('driver')).toBe('bridge');
    expect(p.list('opt')).toEqual(['a=b', 'c=d']);
    expect(p.args).toEqual(['n1']);
    expect(p.command).toBe('network create');
  });

  it('takes short flags as -d value, -d=value, -dvalue, and groups booleans', () => {
    expect(parse(c, ['-d', 'x', 'n']).string('driver')).toBe('x');
    expect(parse(c, ['-d=x', 'n']).string('driver')).toBe('x');
    expect(parse(c, ['-dx', 'n']).string('driver')).toBe('x');
    expect(parse(c, ['-d==x', 'n']).string('driver')).toBe('=x');
    expect(parse(c, ['-o=k=v', 'n']).list('opt')).toEqual(['k=v']);
    const p = parse(c, ['-fq', 'n']);
    expect([p.bool('force'), p.bool('quiet')]).toEqual([true, true]);
    // A group may end with a flag that takes the next word, or the rest of the word.
    expect(parse(c, ['-fo', 'k=v', 'n']).list('opt')).toEqual(['k=v']);
    expect(parse(c, ['-fd=y', 'n']).string('driver')).toBe('y');
    expect(parse(c, ['-df=z', 'n']).string('driver')).toBe('f=z');
  });

  it('reads booleans as present, or =true/=false, and keeps defaults', () => {
    expect(parse(c, ['n']).bool('internal')).toBe(false);
    expect(parse(c, ['--internal', 'n']).bool('internal')).toBe(true);
    expect(parse(c, ['--internal=false', 'n']).bool('internal')).toBe(false);
    expect(parse(c, ['--internal=TRUE', 'n']).bool('internal')).toBe(true);
    expect(parse(c, ['n']).bool('rm')).toBe(true);
    expect(parse(c, ['--rm=false', 'n']).bool('rm')).toBe(false);
    expect(parse(c, ['--rm=false', '--rm', 'n']).bool('rm')).toBe(true);
    expect(parse(c, ['-f=0', 'n']).bool('force')).toBe(false);
    const p = parse(c, ['-fq=0', 'n']);
    expect([p.bool('force'), p.bool('quiet')]).toEqual([true, false]);
    // `--no-trunc` is a flag of its own, not a negation.
    expect(parse(c, ['--no-trunc', 'n']).bool('no-trunc')).toBe(true);
    expect(parse(c, ['n']).bool('no-trunc')).toBe(false);
    expect(fails('--internal=maybe', 'n')).toBe('invalid argument "maybe" for "--internal" flag: expected true or false');
    expect(fails('-f=', 'n')).toBe('invalid argument "" for "-f" flag: expected true or false');
    expect(fails('--internal=constructor', 'n')).toBe('invalid argument "constructor" for "--internal" flag: expected true or false');
    expect(fails('--driver=x=', 'n', '--quiet=maybe')).toBe('invalid argument "maybe" for "--quiet" flag: expected true or false');
  });

  it('keeps the last value of a single-valued flag given twice, as pflag does', () => {
    expect(parse(c, ['-d', 'a', '--driver=b', 'n']).string('driver')).toBe('b');
  });

  it('accepts a flag by its other names', () => {
    expect(parse(c, ['--network-alias', 'a', '--alias', 'b', '--network-alias=c', 'n']).list('alias')).toEqual(['a', 'b', 'c']);
  });

  it('ends the flags at --', () => {
    const p = parse(command({ max: 3 }), ['n', '--', '--internal', '--']);
    expect(p.args).toEqual(['n', '--internal', '--']);
    expect(p.bool('internal')).toBe(false);
    // `--` as a flag's value is a value.
    expect(parse(c, ['-d', '--', 'n']).string('driver')).toBe('--');
  });

  it('refuses unknown flags, missing values and wrong argument counts', () => {
    expect(fails('--nope', 'n')).toBe('unknown flag: --nope');
    expect(fails('--nope=1', 'n')).toBe('unknown flag: --nope');
    expect(fails('--driver=x', '--x\ry', 'n')).toBe('unknown flag: --x\ry');
    expect(fails('-z', 'n')).toBe("unknown shorthand flag: 'z' in -z");
    expect(fails('-fz=1', 'n')).toBe("unknown shorthand flag: 'z' in -fz=1");
    // A negative number is a flag to pflag, too.
    expect(fails('-5')).toBe("unknown shorthand flag: '5' in -5");
    expect(fails('n', '--driver')).toBe('flag needs an argument: --driver');
    expect(fails('n', '-fd')).toBe('flag needs an argument: -d');
    expect(fails()).toBe('"network create" requires exactly 1 argument (NAME)');
    expect(fails('a', 'b')).toBe('"network create" accepts at most 1 argument (NAME), got: b');
    expect(usage(inGroup(command({ args: [], min: 0, max: 0 })), ['network', 'create', 'a'])).toBe('"network create" accepts no arguments, got: a');
    expect(usage(inGroup(command({ args: ['NAME...'], min: 1, max: Infinity })), ['network', 'create'])).toBe('"network create" requires at least 1 argument (NAME...)');
    expect(usage(inGroup(c), ['network', 'frob'])).toBe(`unknown command "frob" for "nlnet network"; run 'nlnet network --help'`);
    expect(usage(inGroup(c), ['frob', '--help'])).toBe(`unknown command "frob" for "nlnet"; run 'nlnet --help'`);
    expect(usage(inGroup(c), ['--bogus', 'network'])).toBe('unknown flag: --bogus');
  });

  it('finds commands by their aliases', () => {
    expect(parse(command({ aliases: ['make'] }), ['n'], ['network', 'make']).command).toBe('network create');
  });

  describe('global flags', () => {
    const globals = (argv: string[]): Record<string, unknown>[] => {
      const { invocation } = read(inGroup(c), argv);
      if (invocation.kind !== 'run') throw new Error('printed');
      return invocation.levels.map((l) => Object.fromEntries(['state-dir', 'host-netns', 'lock-timeout'].flatMap((f) => (l.string(f) === undefined ? [] : [[f, l.string(f)]]))));
    };

    it('are taken before and after the command and the subcommand, each level with its own', () => {
      expect(globals(['--state-dir', 'a', 'network', '--host-netns=h', 'create', 'n', '--lock-timeout', '3', '--state-dir=b'])).toEqual([{ 'state-dir': 'a' }, { 'host-netns': 'h' }, { 'state-dir': 'b', 'lock-timeout': '3' }]);
      expect(globals(['network', 'create', 'n'])).toEqual([{}, {}, {}]);
    });

    it('are not the subcommand\'s flags before its name', () => {
      expect(usage(inGroup(c), ['network', '-d', 'x', 'create', 'n'])).toBe("unknown shorthand flag: 'd' in -d");
    });

    it('--version only before the command, winning over what follows it', () => {
      expect(read(inGroup(c), ['-v', 'frob', '--bogus']).out).toBe('nlnet version 9.9.9\n');
      expect(read(inGroup(c), ['--state-dir', 'd', '--version']).invocation).toEqual({ kind: 'printed' });
      expect(usage(inGroup(c), ['-v', '--bogus'])).toBe('unknown flag: --bogus');
      expect(usage(inGroup(c), ['network', 'create', '-v', 'n'])).toBe("unknown shorthand flag: 'v' in -v");
    });
  });

  describe('--help', () => {
    const help = (tree: Tree, argv: string[]): string => {
      const { invocation, out } = read(tree, argv);
      expect(invocation, argv.join(' ')).toEqual({ kind: 'printed' });
      return out;
    };

    it('answers at any level, even when the arguments are incomplete', () => {
      for (const argv of [['network', 'create', '--help'], ['network', 'create', '-h'], ['network', 'create', '-h', 'a', 'b'], ['network', 'create', '-fh'], ['--help', 'network', 'create'], ['network', '-h', 'create'], ['help', 'network', 'create'], ['help', 'network', 'create', 'x']]) {
        expect(help(inGroup(c), argv), argv.join(' ')).toMatch(/^\nUsage: {2}nlnet network create \[OPTIONS\] NAME\n\nCreate\n/);
      }
      for (const argv of [['network'], ['network', '--help'], ['--help', 'network'], ['help', 'network']]) expect(help(inGroup(c), argv)).toMatch(/^\nUsage: {2}nlnet network COMMAND\n/);
      for (const argv of [[], ['-h'], ['--state-dir', 'd'], ['help']]) expect(help(inGroup(c), argv)).toMatch(/^\nUsage: {2}nlnet \[OPTIONS\] COMMAND\n/);
      expect(usage(inGroup(c), ['help', 'network', 'frob'])).toBe(`unknown command "frob" for "nlnet network"; run 'nlnet network --help'`);
    });

    it("is docker's layout: usage, summary, aliases, options, global options, notes", () => {
      const text = help(inGroup(command({ aliases: ['make'], notes: 'A note.\n' })), ['network', 'create', '--help']);
      expect(text).toMatch(/\nAliases:\n {2}create, make\n\nOptions:\n {2}-d, --driver {5}\n/);
      expect(text).toMatch(/\n {6}--alias {6}; also --network-alias\n {6}--rm {9}; default true\n/);
      expect(text).toContain('\nGlobal options:\n      --host-netns NAME               Namespace');
      expect(text).toMatch(/\n {2}-h, --help {26}Print usage\n\nA note\.\n$/);
    });

    it('is not a flag of the command line of exec or run', () => {
      const exec = command({ name: 'exec', args: ['CONTAINER'], commandLine: true });
      expect(read(topLevel(exec), ['exec', 'c1', 'ls', '--help']).invocation).toMatchObject({ kind: 'run', parsed: { commandLine: ['ls', '--help'] } });
    });
  });

  describe('a command line of its own (exec, run)', () => {
    const exec = command({ name: 'exec', args: ['CONTAINER'], commandLine: true });
    const run = command({ name: 'run', args: [], min: 0, max: 0, commandLine: true });
    const parseTop = (cmd: Command, argv: string[]): Parsed => {
      const { invocation } = read(topLevel(cmd), [cmd.name, ...argv]);
      if (invocation.kind !== 'run') throw new Error('printed');
      return invocation.parsed;
    };

    it('starts at -- or at the first word past the fixed arguments', () => {
      expect(parseTop(exec, ['c1', '--', 'ls', '-l']).commandLine).toEqual(['ls', '-l']);
      const p = parseTop(exec, ['-f', 'c1', 'ls', '-l', '--', '-q', '--state-dir=x', '-d=x', '--rm=false']);
      expect(p.args).toEqual(['c1']);
      expect(p.commandLine).toEqual(['ls', '-l', '--', '-q', '--state-dir=x', '-d=x', '--rm=false']);
      // The command line's own flags are not ours.
      expect(p.bool('quiet')).toBe(false);
      expect(p.string('state-dir')).toBe(undefined);
      expect(parseTop(run, ['--internal', 'sh', '-c', 'exit 3']).commandLine).toEqual(['sh', '-c', 'exit 3']);
      expect(parseTop(run, ['--', '--internal']).commandLine).toEqual(['--internal']);
      expect(parseTop(run, ['--', '--']).commandLine).toEqual(['--']);
      expect(parseTop(run, ['-d', '--', '--', 'x']).commandLine).toEqual(['x']);
    });

    it('takes our flags between the fixed arguments and the command', () => {
      const p = parseTop(exec, ['c1', '-f', '--', 'true']);
      expect(p.bool('force')).toBe(true);
      expect(p.commandLine).toEqual(['true']);
    });

    it('requires the command', () => {
      const fails = (argv: string[]): string => usage(topLevel(exec), ['exec', ...argv]);
      expect(fails(['c1'])).toBe('"exec" requires a command to run');
      expect(fails(['c1', '--'])).toBe('"exec" requires a command to run');
      expect(fails(['--', 'ls'])).toBe('"exec" requires exactly 1 argument (CONTAINER)');
      expect(usage(topLevel(run), ['run', '--rm=false'])).toBe('"run" requires a command to run');
    });
  });
});

describe('flags to engine options', () => {
  const tree: Tree = { groups: [networkGroup, containerGroup], commands: [], version: () => '' };
  const parsed = (argv: string[]): Parsed => {
    const { invocation } = read(tree, argv);
    if (invocation.kind !== 'run') throw new Error('printed');
    return invocation.parsed;
  };
  const net = (...argv: string[]) => createNetworkOptions(parsed(['network', 'create', ...argv]));

  it('network create: every flag lands in CreateNetworkOptions', () => {
    expect(net('-d', 'bridge', '--subnet', '10.1.0.0/24', '--gateway', '10.1.0.254', '--ip-range', '10.1.0.128/25', '--internal', '-o', 'com.docker.network.bridge.enable_icc=false', '--label', 'a=1', '--label', 'b', '--mtu', '1400', 'n1')).toEqual({
      name: 'n1',
      driver: 'bridge',
      subnet: '10.1.0.0/24',
      gateway: '10.1.0.254',
      ipRange: '10.1.0.128/25',
      internal: true,
      labels: { a: '1', b: '' },
      options: { 'com.docker.network.bridge.enable_icc': 'false', 'com.docker.network.driver.mtu': '1400' },
    });
    expect(net('n2')).toEqual({ name: 'n2', internal: false, labels: {}, options: {} });
  });

  it('network create: --subnet and --gateway once per family, the IPv6 ones as subnet6/gateway6', () => {
    expect(net('--ipv6', '--subnet', 'fd00:1::/64', '--subnet', '10.2.0.0/24', '--gateway', 'fd00:1::1', 'n')).toMatchObject({ ipv6: true, subnet: '10.2.0.0/24', subnet6: 'fd00:1::/64', gateway6: 'fd00:1::1' });
    expect(() => net('--subnet', '10.2.0.0/24', '--subnet', '10.3.0.0/24', 'n')).toThrow('--subnet given twice for IPv4 (10.2.0.0/24 and 10.3.0.0/24): one subnet per family');
    expect(() => net('--gateway', 'fd00::1', '--gateway', 'fd00::2', 'n')).toThrow(UsageError);
  });

  it('network create: --mtu must be a number and agree with -o', () => {
    expect(() => net('--mtu', 'big', 'n')).toThrow(UsageError);
    expect(() => net('--mtu', '1400', '-o', 'com.docker.network.driver.mtu=1300', 'n')).toThrow('--mtu 1400 contradicts -o com.docker.network.driver.mtu=1300');
    expect(net('--mtu', '1400', '-o', 'com.docker.network.driver.mtu=1400', 'n').options).toEqual({ 'com.docker.network.driver.mtu': '1400' });
  });

  it('KEY=VALUE lists: a bare key is an empty value, an empty key is refused', () => {
    expect(keyValues('--label', 'x', ['a=b=c', 'd'])).toEqual({ a: 'b=c', d: '' });
    expect(() => keyValues('--label', 'x', ['=v'])).toThrow('invalid argument "=v" for "--label" flag: expected KEY=VALUE');
    // `-o =x` keeps its `=`, unlike `-o=x`.
    expect(() => net('-o', '=x', 'n')).toThrow('invalid argument "=x" for "--opt" flag: expected KEY=VALUE');
    expect(net('-o=x', 'n').options).toEqual({ x: '' });
  });

  it('container create: every flag lands in CreateSandboxOptions', () => {
    const p = parsed(['container', 'create', '--name', 'c', '--net', 'n1', '-p', '8080:80', '-p', '53/udp', '-P', '--expose', '90', '--ip', '10.0.0.5', '--ip6', 'fd00::5', '--mac-address', '02:42:00:00:00:01', '--network-alias', 'web']);
    expect(createSandboxOptions(p, 'c')).toEqual({ name: 'c', network: 'n1', publish: ['8080:80', '53/udp'], publishAll: true, expose: [90], ip: '10.0.0.5', ip6: 'fd00::5', mac: '02:42:00:00:00:01', aliases: ['web'] });
    expect(createSandboxOptions(parsed(['container', 'create']), 'd')).toEqual({ name: 'd', publish: [], publishAll: false, expose: [], aliases: [] });
  });

  it('--expose: ports and ranges, TCP only', () => {
    expect(exposedPorts('x', ['80', '8000-8002/tcp'])).toEqual([80, 8000, 8001, 8002]);
    for (const bad of ['0', '70000', '53/udp', '9-8', 'http']) expect(() => exposedPorts('x', [bad]), bad).toThrow(UsageError);
  });
});
