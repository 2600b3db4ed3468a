// The ipvlan driver (`docker network create -d ipvlan -o parent=IF [-o ipvlan_mode=M] [-o
// ipvlan_flag=F]`): each endpoint an ipvlan of the parent, sharing its MAC (sub-interface.ts has
// what macvlan shares).
import { subInterfaceDriver } from './sub-interface.js';

export const ipvlan = subInterfaceDriver({
  name: 'ipvlan',
  options: ['parent', 'ipvlan_mode', 'ipvlan_flag'],
  /** `ip link add link PARENT name IFNAME netns NS type ipvlan mode M FLAG`: made in the host namespace, born in the sandbox. */
  addLink: (host, e) => host.link.add({ kind: 'ipvlan', name: e.ifname, link: e.options.parent, netns: e.netns, mode: e.options.ipvlanMode, flag: e.options.ipvlanFlag }),
  // l3 and l3s route, with no gateway on the LAN: the default route is the device.
  defaultDev: (o) => o.ipvlanMode !== 'l2',
});
