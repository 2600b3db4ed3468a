// lib/cli/format.ts, container-view.ts and errors.ts: docker's table layout, --format json and
// templates, "N minutes ago", docker's container shapes, and one-line error messages. No root.
import { describe, expect, it } from 'vitest';

import { containerInspect, containerLine, portsCell } from '../../../lib/cli/container-view.js';
import { describeError, exitCodeOf } from '../../../lib/cli/errors.js';
import { dockerTime, formatInspect, formatList, FormatError, humanDuration, parseFormat, renderTemplate, table, TemplateError } from '../../../lib/cli/format.js';
import { UsageError } from '../../../lib/cli/command.js';
import { networkLine } from '../../../lib/cli/network.js';
import { ConflictError, NetlinkError, NotFoundError, ValidationError } from '../../../lib/core/errors.js';
import type { Network } from '../../../lib/network/engine.js';
import type { SandboxRecord } from '../../../lib/network/model/sandbox.js';

const network: Network = {
  name: 'front',
  id: 'a'.repeat(64),
  driver: 'bridge',
  subnet: '172.18.0.0/16',
  gateway: '172.18.0.1',
  internal: false,
  bridge: 'br-aaaaaaaaaaaa',
  created: '2024-05-01T10:00:00.123Z',
  labels: { team: 'x', env: '' },
  options: {},
};

const sandbox: SandboxRecord = {
  name: 'web',
  id: 'b'.repeat(64),
  created: '2024-05-01T10:00:00.000Z',
  mode: 'front',
  netns: 'nlnet-12345678-web',
  ownsNetns: true,
  endpoints: [
    {
      network: 'front',
      endpointId: 'c'.repeat(64),
      ifname: 'eth0',
      hostIf: 'veth1234567',
      ip: '172.18.0.2',
      mac: '02:42:ac:12:00:02',
      aliases: ['www'],
      ports: [
        { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
        { hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53, protocol: 'udp' },
      ],
    },
  ],
};

describe('table', () => {
  it("pads like docker's tabwriter: widest cell + 3, at least 10, last column bare", () => {
    expect(table(['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'], [['7fca4eb8c647', 'bridge', 'bridge', 'local'], ['0123456789ab', 'a-much-longer-name', 'bridge', 'local']])).toBe(
      'NETWORK ID     NAME                 DRIVER    SCOPE\n' + '7fca4eb8c647   bridge               bridge    local\n' + '0123456789ab   a-much-longer-name   bridge    local\n',
    );
  });

  it('prints the header alone for no rows, and no trailing spaces for empty last cells', () => {
    expect(table(['A', 'B'], [])).toBe('A         B\n');
    expect(table(['A', 'B'], [['x', '']])).toBe('A         B\nx\n');
  });
});

describe('humanDuration', () => {
  it.each([
    [0, 'Less than a second'],
    [1000, '1 second'],
    [59_000, '59 seconds'],
    [60_000, 'About a minute'],
    [119_000, 'About a minute'],
    [120_000, '2 minutes'],
    [59 * 60_000, '59 minutes'],
    [60 * 60_000, 'About an hour'],
    [100 * 60_000, '2 hours'],
    [47 * 3_600_000, '47 hours'],
    [48 * 3_600_000, '2 days'],
    [14 * 86_400_000, '2 weeks'],
    [60 * 86_400_000, '2 months'],
    [800 * 86_400_000, '2 years'],
  ])('%d ms: %s', (ms, words) => expect(humanDuration(ms)).toBe(words));
});

describe('--format', () => {
  it('table, json, templates; anything else is a usage error', () => {
    expect(parseFormat(undefined)).toEqual({ kind: 'table' });
    expect(parseFormat('table')).toEqual({ kind: 'table' });
    expect(parseFormat('json')).toEqual({ kind: 'json' });
    expect(parseFormat('{{.Name}}')).toEqual({ kind: 'template', template: '{{.Name}}' });
    expect(() => parseFormat('yaml')).toThrow(FormatError);
    expect(() => parseFormat('{{range .}}{{end}}')).toThrow('only {{.Field}}');
    expect(exitCodeOf(new FormatError('x'))).toBe(2);
  });

  it('templates: fields, nested fields, json, \\t, "<no value>" for a missing map key, an error for a missing field', () => {
    const data = { Name: 'n', IPAM: { Config: [{ Subnet: '10.0.0.0/8' }] }, Labels: { a: '1' } };
    expect(renderTemplate('{{.Name}}\\t{{ .IPAM.Config }}', data)).toBe('n\t[{"Subnet":"10.0.0.0/8"}]');
    expect(renderTemplate('{{json .Labels}} {{json .}}', { Labels: { a: '1' } })).toBe('{"a":"1"} {"Labels":{"a":"1"}}');
    expect(renderTemplate('{{.Labels.nope}}', data)).toBe('<no value>');
    // docker: `template: … can't evaluate field Nope in type …`, exit status 1.
    expect(() => renderTemplate('{{.Nope}}', data)).toThrow(TemplateError);
    expect(() => renderTemplate('{{ .IPAM.Nope }}', data)).toThrow("can't evaluate field Nope");
    expect(exitCodeOf(new TemplateError('x'))).toBe(1);
  });

  it('lists: one JSON object per line; inspect: an indented JSON array', () => {
    const line = networkLine(network);
    expect(formatList({ kind: 'json' }, [line, line], ['H'], () => [''])).toBe(`${JSON.stringify(line)}\n${JSON.stringify(line)}\n`);
    expect(formatList({ kind: 'template', template: '{{.ID}}' }, [line], ['H'], () => [''])).toBe('aaaaaaaaaaaa\n');
    expect(formatInspect({ kind: 'json' }, [{ a: 1 }])).toBe('[\n    {\n        "a": 1\n    }\n]\n');
    expect(formatInspect({ kind: 'table' }, [])).toBe('[]\n');
  });
});

describe("docker's shapes", () => {
  it('network ls --format json: the fields docker prints, ids cut to 12', () => {
    expect(networkLine(network)).toEqual({
      CreatedAt: '2024-05-01 10:00:00.123 +0000 UTC',
      Driver: 'bridge',
      ID: 'aaaaaaaaaaaa',
      IPv6: 'false',
      Internal: 'false',
      Labels: 'team=x,env=',
      Name: 'front',
      Scope: 'local',
    });
    expect(networkLine(network, true).ID).toBe(network.id);
    expect(dockerTime('2024-01-02T03:04:05.678Z')).toBe('2024-01-02 03:04:05.678 +0000 UTC');
  });

  it('container ls: ports as docker ps writes them, age in words', () => {
    expect(portsCell(sandbox)).toBe('0.0.0.0:8080->80/tcp, 127.0.0.1:5353->53/udp');
    const l = containerLine(sandbox, Date.parse(sandbox.created) + 180_000);
    expect(l).toMatchObject({ ID: 'bbbbbbbbbbbb', Names: 'web', NetworkMode: 'front', Networks: 'front', IPAddresses: '172.18.0.2', RunningFor: '3 minutes ago' });
  });

  it('container inspect: docker inspect\'s network settings', () => {
    const j = containerInspect(sandbox, [network]) as { Name: string; HostConfig: unknown; NetworkSettings: { SandboxKey: string; Ports: unknown; Networks: Record<string, unknown> } };
    expect(j.Name).toBe('/web');
    expect(j.HostConfig).toEqual({ NetworkMode: 'front', PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }], '53/udp': [{ HostIp: '127.0.0.1', HostPort: '5353' }] } });
    expect(j.NetworkSettings.SandboxKey).toBe('/run/netns/nlnet-12345678-web');
    expect(j.NetworkSettings.Ports).toEqual({ '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }], '53/udp': [{ HostIp: '127.0.0.1', HostPort: '5353' }] });
    expect(j.NetworkSettings.Networks.front).toMatchObject({ IPAddress: '172.18.0.2', IPPrefixLen: 16, Gateway: '172.18.0.1', NetworkID: network.id, Aliases: ['www'], MacAddress: '02:42:ac:12:00:02' });
    const host = containerInspect({ ...sandbox, mode: 'host', netns: '', ownsNetns: false, endpoints: [] }, []) as { NetworkSettings: { SandboxKey: string; Networks: object } };
    expect(host.NetworkSettings).toMatchObject({ SandboxKey: '', Networks: {} });
  });
});

describe('error lines', () => {
  it('use the typed errors, with the flag the user typed instead of the option name', () => {
    expect(describeError(new ValidationError('ipRange', 'x', 'expected a CIDR'))).toBe('--ip-range: expected a CIDR (got "x")');
    expect(describeError(new ValidationError('mac', 'zz', 'expected a MAC address'))).toBe('--mac-address: expected a MAC address (got "zz")');
    expect(describeError(new ValidationError('options.com.docker.network.driver.mtu', '9', 'expected an MTU'))).toBe('--opt com.docker.network.driver.mtu: expected an MTU (got "9")');
    expect(describeError(new ValidationError('elsewhere', 1, 'odd'))).toBe('elsewhere: odd (got 1)');
    expect(describeError(new NotFoundError('network', 'n9'))).toBe("network 'n9' not found");
    expect(describeError(new ConflictError('network', 'n', 'in use'))).toBe("network 'n': in use");
    expect(describeError(new NetlinkError({ errno: 17, code: 'EEXIST', op: 'link.add', extack: 'File exists' }))).toBe('link.add: File exists (EEXIST)');
    expect(describeError(new Error('two\n  lines'))).toBe('two lines');
  });

  it('usage errors exit 2, everything else 1', () => {
    expect(exitCodeOf(new UsageError('x', 'y'))).toBe(2);
    expect(exitCodeOf(new NotFoundError('network', 'n'))).toBe(1);
    expect(exitCodeOf(new Error('bug'))).toBe(1);
  });
});
