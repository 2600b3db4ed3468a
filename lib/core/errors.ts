// Typed errors. Every error nlnet throws is one of these; none is a bare string, none drops errno.

/** The kernel refused an operation (or a system call failed on the way to it). */
export class NetlinkError extends Error {
  override readonly name = 'NetlinkError';
  /** Positive errno, as in errno.h. */
  readonly errno: number;
  /** 'EEXIST', 'ENODEV', … as Node names them. */
  readonly code: string;
  /** The operation, named after its command: 'link.add', 'addr.del', 'netns.create'… */
  readonly op: string;
  /** The kernel's extended-ack message, when it gave one. */
  readonly extack: string | undefined;
  /** The failing system call ('netlink' when the kernel answered with an error). */
  readonly syscall: string;
  /** The step of a batch that failed, counting from 0. */
  readonly step: number | undefined;

  constructor(init: { errno: number; code: string; op: string; extack?: string | undefined; syscall?: string; step?: number | undefined; message?: string }) {
    const why = init.extack ?? init.message ?? init.code;
    super(`${init.op}: ${why} (${init.code})`);
    this.errno = init.errno;
    this.code = init.code;
    this.op = init.op;
    this.extack = init.extack;
    this.syscall = init.syscall ?? 'netlink';
    this.step = init.step;
  }
}

/** A dump kept being interrupted by concurrent changes; `partial` holds what the last try read. */
export class DumpInterruptedError<T = unknown> extends NetlinkError {
  readonly partial: T[];
  constructor(op: string, partial: T[], step?: number) {
    super({ errno: 4, code: 'EINTR', op, extack: 'dump interrupted by concurrent changes, retries exhausted', step });
    this.partial = partial;
  }
}

/** Input rejected before anything reached the kernel. */
export class ValidationError extends TypeError {
  override readonly name = 'ValidationError';
  constructor(readonly field: string, readonly value: unknown, reason: string) {
    // A value not given at all has nothing to show: "(got undefined)" would read as a bug.
    super(value === undefined ? `${field}: ${reason}` : `${field}: ${reason} (got ${describe(value)})`);
  }
}

/** Something named does not exist (a namespace, a network). */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
  /** `reason` replaces the default message ("KIND 'ID' not found") where that would say less. */
  constructor(readonly kind: string, readonly id: string, reason?: string) {
    super(reason ?? `${kind} '${id}' not found`);
  }
}

/** Something conflicts with what exists (a name taken, a busy resource). */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
  constructor(readonly kind: string, readonly id: string, reason: string) {
    super(`${kind} '${id}': ${reason}`);
  }
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v === undefined || v === null || typeof v !== 'object') return String(v);
  try {
    return JSON.stringify(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}
