// What the embedded name server needs from whoever knows the sandboxes (the engine).

/** The records of one network, asked for at each query so that changes show at once. */
export interface DnsSource {
  /** Where to listen: one entry per network with embedded DNS (the engine gives user-defined bridge networks' gateways). */
  listeners(): Promise<{ network: string; address: string }[]>;
  /** The addresses NAME has on NETWORK (sandbox names and aliases; case-insensitive, no trailing dot), or undefined if unknown. */
  lookup(network: string, name: string): Promise<{ ipv4: string[]; ipv6: string[] } | undefined>;
  /** Reverse: the names of ADDRESS on NETWORK (for PTR). */
  reverse(network: string, address: string): Promise<string[]>;
}

export interface DnsServerOptions {
  /** Namespace the listeners live in (default: the process's own). */
  hostNetns?: string;
  source: DnsSource;
  /** 'ip' or 'ip:port' or '[v6]:port'; default: nameservers of /etc/resolv.conf. */
  upstream?: string[];
  /** Namespace the forwarding sockets are opened in (default: the process's own). */
  upstreamNetns?: string;
  /** How long to wait for one upstream before trying the next (default 2000). */
  upstreamTimeoutMs?: number;
  /** Close a TCP connection once no query has been in progress on it for this long (default 8000). */
  tcpIdleTimeoutMs?: number;
  /** TCP connections per listener; at the cap a new one replaces the longest idle (default 128). */
  maxTcpConnections?: number;
}

/** One network's listener, open or failed. */
export interface DnsListener {
  network: string;
  address: string;
}

export type Transport = 'udp' | 'tcp';
