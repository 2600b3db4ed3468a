#!/usr/bin/env node
// The integration tests check nlnet's work with tools nlnet did not write: ip and bridge
// (iproute2), nft (nftables), ping (iputils-ping) and dig (bind9-dnsutils); the etcd store's tests
// run a real etcd (etcd-server), and the overlay tests read what it holds with etcdctl
// (etcd-client). `npm test` runs this
// first, so that a missing tool is one clear line up front, not dozens of failing tests later.
//
// As root (the integration tests run only as root) on Debian or Ubuntu, missing tools are
// installed with apt-get, saying so first. NLNET_NO_INSTALL=1 only checks. Not root: the
// integration tests skip, so nothing is needed and nothing is done.
// Usage: node test/tools/oracles.mjs [--check]   (--check: never install)
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { spawnSync } from 'node:child_process';

/** Each tool the tests run, and the Debian package that has it. */
const ORACLES = [
  ['ip', 'iproute2'],
  ['bridge', 'iproute2'],
  ['nft', 'nftables'],
  ['ping', 'iputils-ping'],
  ['dig', 'bind9-dnsutils'],
  ['etcd', 'etcd-server'],
  ['etcdctl', 'etcd-client'],
];

const onPath = (cmd) =>
  (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir || '.', cmd), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });

const missing = () => ORACLES.filter(([cmd]) => !onPath(cmd));
const packages = (list) => [...new Set(list.map(([, pkg]) => pkg))];
const say = (line) => console.error(`nlnet tests: ${line}`);

if (process.getuid?.() !== 0) {
  say('not root: the integration tests will be skipped, so their tools (ip, nft, ping, dig, etcd, etcdctl) are not needed');
  process.exit(0);
}
const before = missing();
if (before.length === 0) process.exit(0);

const names = before.map(([cmd]) => cmd).join(', ');
const pkgs = packages(before);
const install = `apt-get install ${pkgs.join(' ')}`;
if (process.argv.includes('--check') || process.env.NLNET_NO_INSTALL === '1' || !onPath('apt-get')) {
  const why = onPath('apt-get') ? '' : ' (no apt-get here: install them with your package manager)';
  say(`missing ${names}, which the integration tests use to check nlnet's work: ${install}${why}`);
  process.exit(1);
}

say(`missing ${names}; installing ${pkgs.join(' ')} with apt-get (Debian/Ubuntu, as root; NLNET_NO_INSTALL=1 to only check)`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
const apt = (args) => spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env }).status === 0;
if (!apt(['update', '-qq']) || !apt(['install', '-y', '-qq', '--no-install-recommends', ...pkgs])) {
  say(`apt-get failed; install them by hand: ${install}`);
  process.exit(1);
}
const after = missing();
if (after.length > 0) {
  say(`still missing after apt-get: ${after.map(([cmd]) => cmd).join(', ')}`);
  process.exit(1);
}
say(`installed ${pkgs.join(' ')}`);
