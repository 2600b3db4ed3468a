// The macvlan driver (`docker network create -d macvlan -o parent=IF [-o macvlan_mode=M]`): each
// endpoint a macvlan of the parent with its own MAC (sub-interface.ts has what ipvlan shares).
import { subInterfaceDriver } from './sub-interface.js';

export const macvlan = subInterfaceDriver({
  name: 'macvlan',
  options: ['parent', 'macvlan_mode'],
  /** `ip link add link PARENT name IFNAME netns NS address MAC type macvlan mode M`: made in the host namespace, born in the sandbox. */
  addLink: (host, e) => host.link.add({ kind: 'macvlan', name: e.ifname, link: e.options.parent, netns: e.netns, address: e.mac, mode: e.options.macvlanMode }),
  defaultDev: () => false,
});
