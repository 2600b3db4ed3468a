// DNS over TCP (RFC 1035 §4.2.2, RFC 7766): each message is preceded by its length in two bytes,
// big-endian, and a connection carries any number of them. TCP delivers bytes, not messages, so
// a message may arrive split over several chunks or several in one.

/** Prefixes a message with its 16-bit length. */
export function frame(message: Buffer): Buffer {
  if (message.length > 0xffff) throw new RangeError(`a DNS message over TCP is at most 65535 bytes, this one is ${message.length}`);
  const out = Buffer.allocUnsafe(2 + message.length);
  out.writeUInt16BE(message.length, 0);
  message.copy(out, 2);
  return out;
}

/** Cuts a TCP byte stream into messages. Holds at most one unfinished message (≤ 64 KiB). */
export class FrameReader {
  #pending: Buffer = Buffer.alloc(0);

  /** Adds a chunk; returns the messages it completed, in order (a zero-length frame is an empty Buffer). */
  push(chunk: Buffer): Buffer[] {
    let buf = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const out: Buffer[] = [];
    while (buf.length >= 2) {
      const len = buf.readUInt16BE(0);
      if (buf.length < 2 + len) break;
      // Copied so that a message does not pin the whole chunk it came in.
      out.push(Buffer.from(buf.subarray(2, 2 + len)));
      buf = buf.subarray(2 + len);
    }
    this.#pending = Buffer.from(buf);
    return out;
  }

  /** Bytes received that do not yet make a whole message. */
  get buffered(): number {
    return this.#pending.length;
  }
}
