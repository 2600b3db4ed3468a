// `--cluster-store etcd://…`: the members it names, and a clear reason for what it refuses.
import { describe, expect, it } from 'vitest';

import { ValidationError } from '../../../../lib/core/errors.js';
import { parseClusterStore } from '../../../../lib/network/store/cluster-url.js';

describe('parseClusterStore', () => {
  it.each([
    ['etcd://127.0.0.1:2379', ['127.0.0.1:2379']],
    ['etcd://10.0.0.1', ['10.0.0.1:2379']],
    ['etcd://10.0.0.1:2379,10.0.0.2:22379/', ['10.0.0.1:2379', '10.0.0.2:22379']],
    ['etcd://[fd00::1]:2379,[::1]', ['[fd00::1]:2379', '[::1]:2379']],
    ['etcd://etcd-1.example.org,etcd2:4001', ['etcd-1.example.org:2379', 'etcd2:4001']],
    ['ETCD://localhost:02379', ['localhost:2379']],
  ])('%s', (url, endpoints) => {
    expect(parseClusterStore(url)).toEqual({ endpoints });
  });

  it.each([
    ['127.0.0.1:2379', 'must look like etcd://host:2379[,host2:2379]'],
    ['consul://10.0.0.1:8500', "unsupported store 'consul': only etcd:// is supported"],
    ['etcd://', 'names no etcd host'],
    ['etcd://a:2379,,b', 'has an empty member between commas'],
    ['etcd://10.0.0.1:2379/nlnet', 'takes only host:port members, no path, query or user'],
    ['etcd://user@10.0.0.1', 'takes only host:port members, no path, query or user'],
    ['etcd://fd00::1', "member 'fd00::1': an IPv6 address needs brackets, as in [fd00::1]:2379"],
    ['etcd://[fd00::1', "member '[fd00::1' opens an IPv6 bracket it does not close"],
    ['etcd://[zz::1]:2379', "member '[zz::1]:2379' is not an IPv6 address in brackets"],
    ['etcd://300.1.1.1', "member '300.1.1.1' is not a valid IPv4 address"],
    ['etcd://1.2.3', "member '1.2.3' has no valid host name or address"],
    ['etcd://-bad-', "member '-bad-' has no valid host name or address"],
    ['etcd://h:0', "member 'h:0' has port '0', not 1-65535"],
    ['etcd://h:65536', "member 'h:65536' has port '65536', not 1-65535"],
    ['etcd://h:', "member 'h:' has port '', not 1-65535"],
  ])('refuses %s', (url, reason) => {
    const err = (() => {
      try {
        parseClusterStore(url);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toBe(`cluster-store: ${reason} (got ${JSON.stringify(url)})`);
  });
});
