// The Docker network modes: the engine and the pieces it is built from.
export { Engine, type EngineOptions, type EngineFaults, type AttachStep, type DetachStep, type NetworkStep, type Step, type CreateNetworkOptions, type CreateSandboxOptions, type Network } from './engine.js';
export type { EndpointRecord, NetworkRecord, SandboxRecord } from './model/sandbox.js';
export type { PublishedPort } from './ports/spec.js';
export type { NetworkInspect, EndpointInspect } from './model/inspect.js';
export { AddressPool, DEFAULT_POOLS, allocateSubnet, claimSubnet, macFor } from './ipam/v4.js';
export { FileStore } from './store/file.js';
// The etcd store is its own entry point (`nlnet/etcd`): its client loads grpc-js, ~160 ms that a
// host without a cluster should not pay at every command.
export type { EtcdStore, EtcdStoreOptions } from './store/etcd.js';
export type { EtcdError, EtcdCode } from './store/etcd-client.js';
export { Cluster, DEFAULT_HOST_TTL } from './cluster.js';
export type { HostInfo, HostRegistration, RegisterHostOptions } from './store/etcd-lease.js';
export type { StoreWatch, WatchEvent, WatchOptions } from './store/etcd-watch.js';
export { parseClusterStore } from './store/cluster-url.js';
