// The Docker network modes: the engine and the pieces it is built from.
export { Engine, type EngineOptions, type EngineFaults, type AttachStep, type DetachStep, type NetworkStep, type Step, type CreateNetworkOptions, type CreateSandboxOptions, type Network, type PortMapping } from './engine.js';
export type { EndpointRecord, NetworkRecord, SandboxRecord } from './sandbox.js';
export type { PublishedPortRecord } from './publish.js';
export type { NetworkInspect, EndpointInspect } from './inspect.js';
export { AddressPool, DEFAULT_POOLS, allocateSubnet, claimSubnet, macFor } from './ipam.js';
export { FileStore } from './store/file.js';
