// The embedded name server of user-defined networks, and the resolv.conf its sandboxes get.
export { DnsServer, DNS_PORT, type DnsListenerFailure } from './server.js';
export type { DnsSource, DnsServerOptions, DnsListener } from './types.js';
export { sandboxResolvConf, parseResolvConf, parseUpstream, FALLBACK_NAMESERVERS, type ResolvConf, type Upstream } from './resolv-conf.js';
export { answerQuery, LOCAL_TTL } from './answer.js';
