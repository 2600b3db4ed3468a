// lib/cli/args.ts: docker's (pflag's) command-line conventions, and the flag-to-option mapping
// of the commands (network.ts, container.ts). No root, no kernel.
import { describe, expect, it } from 'vitest';

import { parseArgs, UsageError, type ArgsSpec } from '../../lib/cli/args.js';
import { GLOBAL_FLAGS } from '../../lib/cli/command.js';
import { createSandboxOptions, CREATE_FLAGS, exposedPorts } from '../../lib/cli/container.js';
import { createNetworkOptions, keyValues } from '../../lib/cli/network.js';

const spec = (over: Partial<ArgsSpec> = {}): ArgsSpec => ({
  command: 'network create',
  flags: [
    { name: 'driver', short: 'd', kind: 'string', help: '' },
    { name: 'internal', kind: 'bool', help: '' },
    { name: 'opt', short: 'o', kind: 'list', help: '' },
    { name: 'force', short: 'f', kind: 'bool', help: '' },
    { name: 'quiet', short: 'q', kind: 'bool', help: '' },
    { name: 'alias', aliases: ['network-alias'], kind: 'list', help: '' },
    { name: 'rm', kind: 'bool', default: true, help: '' },
    ...GLOBAL_FLAGS,
  ],
  args: ['NAME'],
  min: 1,
  max: 1,
  ...over,
});

const usage = (s: ArgsSpec, argv: string[]): string => {
  try {
    parseArgs(s, argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`parsed: ${argv.join(' ')}`);
};

describe('parseArgs', () => {
  it('takes long flags as --flag value and --flag=value, anywhere among the arguments', () => {
    const p = parseArgs(spec(), ['--driver', 'bridge', 'n1', '--opt=a=b', '--opt', 'c=d']);
    expect(p.string('driver')).toBe('bridge');
    expect(p.list('opt')).toEqual(['a=b', 'c=d']);
    expect(p.args).toEqual(['n1']);
  });

  it('takes short flags as -d value, -d=value, -dvalue, and groups booleans', () => {
    expect(parseArgs(spec(), ['-d', 'x', 'n']).string('driver')).toBe('x');
    expect(parseArgs(spec(), ['-d=x', 'n']).string('driver')).toBe('x');
    expect(parseArgs(spec(), ['-dx', 'n']).string('driver')).toBe('x');
    const p = parseArgs(spec(), ['-fq', 'n']);
    expect([p.bool('force'), p.bool('quiet')]).toEqual([true, true]);
    // A group may end with a flag that takes the next word.
    expect(parseArgs(spec(), ['-fo', 'k=v', 'n']).list('opt')).toEqual(['k=v']);
  });

  it('reads booleans as present, or =true/=false, and keeps defaults', () => {
    expect(parseArgs(spec(), ['n']).bool('internal')).toBe(false);
    expect(parseArgs(spec(), ['--internal', 'n']).bool('internal')).toBe(true);
    expect(parseArgs(spec(), ['--internal=false', 'n']).bool('internal')).toBe(false);
    expect(parseArgs(spec(), ['n']).bool('rm')).toBe(true);
    expect(parseArgs(spec(), ['--rm=false', 'n']).bool('rm')).toBe(false);
    expect(parseArgs(spec(), ['-f=0', 'n']).bool('force')).toBe(false);
    expect(usage(spec(), ['--internal=maybe', 'n'])).toBe('invalid argument "maybe" for "--internal" flag: expected true or false');
  });

  it('keeps the last value of a single-valued flag given twice, as pflag does', () => {
    expect(parseArgs(spec(), ['-d', 'a', '--driver=b', 'n']).string('driver')).toBe('b');
  });

  it('accepts a flag by its other names', () => {
    expect(parseArgs(spec(), ['--network-alias', 'a', '--alias', 'b', 'n']).list('alias')).toEqual(['a', 'b']);
  });

  it('ends the flags at --', () => {
    const p = parseArgs(spec({ max: 2 }), ['n', '--', '--internal']);
    expect(p.args).toEqual(['n', '--internal']);
    expect(p.bool('internal')).toBe(false);
  });

  it('refuses unknown flags, missing values and wrong argument counts', () => {
    expect(usage(spec(), ['--nope', 'n'])).toBe('unknown flag: --nope');
    expect(usage(spec(), ['-z', 'n'])).toBe("unknown shorthand flag: 'z' in -z");
    expect(usage(spec(), ['n', '--driver'])).toBe('flag needs an argument: --driver');
    expect(usage(spec(), [])).toBe('"network create" requires exactly 1 argument (NAME)');
    expect(usage(spec(), ['a', 'b'])).toBe('"network create" accepts at most 1 argument (NAME), got: b');
    expect(usage(spec({ args: [], min: 0, max: 0 }), ['a'])).toBe('"network create" accepts no arguments, got: a');
    expect(usage(spec({ args: ['NAME...'], min: 1, max: Infinity }), [])).toBe('"network create" requires at least 1 argument (NAME...)');
  });

  it('answers --help even when the arguments are incomplete', () => {
    expect(parseArgs(spec(), ['--help']).bool('help')).toBe(true);
    expect(parseArgs(spec(), ['-h']).bool('help')).toBe(true);
  });

  describe('a command line of its own (exec, run)', () => {
    const exec = spec({ command: 'exec', args: ['CONTAINER'], commandLine: true });
    const run = spec({ command: 'run', args: [], min: 0, max: 0, commandLine: true });

    it('starts at -- or at the first word past the fixed arguments', () => {
      expect(parseArgs(exec, ['c1', '--', 'ls', '-l']).commandLine).toEqual(['ls', '-l']);
      const p = parseArgs(exec, ['-f', 'c1', 'ls', '-l', '--', '-q']);
      expect(p.args).toEqual(['c1']);
      expect(p.commandLine).toEqual(['ls', '-l', '--', '-q']);
      // The command line's own flags are not ours.
      expect(p.bool('quiet')).toBe(false);
      expect(parseArgs(run, ['--internal', 'sh', '-c', 'exit 3']).commandLine).toEqual(['sh', '-c', 'exit 3']);
      expect(parseArgs(run, ['--', '--internal']).commandLine).toEqual(['--internal']);
    });

    it('takes our flags between the fixed arguments and the command', () => {
      const p = parseArgs(exec, ['c1', '-f', '--', 'true']);
      expect(p.bool('force')).toBe(true);
      expect(p.commandLine).toEqual(['true']);
    });

    it('requires the command', () => {
      expect(usage(exec, ['c1'])).toBe('"exec" requires a command to run');
      expect(usage(exec, ['c1', '--'])).toBe('"exec" requires a command to run');
      expect(usage(exec, ['--', 'ls'])).toBe('"exec" requires exactly 1 argument (CONTAINER)');
    });

    it('may be optional (the top level: nlnet --state-dir D alone)', () => {
      expect(parseArgs({ ...run, commandLineOptional: true }, ['--state-dir', 'd']).commandLine).toEqual([]);
    });
  });
});

describe('flags to engine options', () => {
  const networkSpec: ArgsSpec = {
    command: 'network create',
    args: ['NETWORK'],
    min: 1,
    max: 1,
    flags: [
      { name: 'driver', short: 'd', kind: 'string', help: '' },
      { name: 'subnet', kind: 'list', help: '' },
      { name: 'gateway', kind: 'list', help: '' },
      { name: 'ip-range', kind: 'string', help: '' },
      { name: 'internal', kind: 'bool', help: '' },
      { name: 'ipv6', kind: 'bool', help: '' },
      { name: 'opt', short: 'o', kind: 'list', help: '' },
      { name: 'label', kind: 'list', help: '' },
      { name: 'mtu', kind: 'string', help: '' },
    ],
  };
  const net = (...argv: string[]) => createNetworkOptions(parseArgs(networkSpec, argv));

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
  });

  const sandboxSpec: ArgsSpec = { command: 'container create', args: [], min: 0, max: 0, flags: CREATE_FLAGS };
  it('container create: every flag lands in CreateSandboxOptions', () => {
    const p = parseArgs(sandboxSpec, ['--name', 'c', '--net', 'n1', '-p', '8080:80', '-p', '53/udp', '-P', '--expose', '90', '--ip', '10.0.0.5', '--ip6', 'fd00::5', '--mac-address', '02:42:00:00:00:01', '--network-alias', 'web']);
    expect(createSandboxOptions(p, 'c')).toEqual({ name: 'c', network: 'n1', publish: ['8080:80', '53/udp'], publishAll: true, expose: [90], ip: '10.0.0.5', ip6: 'fd00::5', mac: '02:42:00:00:00:01', aliases: ['web'] });
    expect(createSandboxOptions(parseArgs(sandboxSpec, []), 'd')).toEqual({ name: 'd', publish: [], publishAll: false, expose: [], aliases: [] });
  });

  it('--expose: ports and ranges, TCP only', () => {
    expect(exposedPorts('x', ['80', '8000-8002/tcp'])).toEqual([80, 8000, 8001, 8002]);
    for (const bad of ['0', '70000', '53/udp', '9-8', 'http']) expect(() => exposedPorts('x', [bad]), bad).toThrow(UsageError);
  });
});
