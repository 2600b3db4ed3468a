// One line per failure: `nlnet: <what went wrong>`, from the typed errors' own messages, with the
// engine's option names (ipRange, mac) turned back into the flags the user typed.
import { ConflictError, NetlinkError, NotFoundError, ValidationError } from '../core/errors.js';
import { SpawnError } from '../netns/spawn.js';
import { EXIT, UsageError } from './command.js';
import { FormatError, TemplateError } from './format.js';
import { PrivilegeError } from './privileges.js';
import { StoreError } from '../network/store/errors.js';

/** Engine option names and the flags that fill them. */
const FLAG_OF: Record<string, string> = {
  name: 'name',
  driver: '--driver',
  subnet: '--subnet',
  gateway: '--gateway',
  ipRange: '--ip-range',
  'ip-range': '--ip-range',
  internal: '--internal',
  labels: '--label',
  options: '--opt',
  network: '--network',
  ip: '--ip',
  publish: '--publish',
  publishAll: '--publish-all',
  expose: '--expose',
  mac: '--mac-address',
  aliases: '--alias',
  ipv6: '--ipv6',
  subnet6: '--subnet',
  gateway6: '--gateway',
  ip6: '--ip6',
  hostNetns: '--host-netns',
  netns: '--host-netns',
  dir: '--state-dir',
};

/** The message for the user, without the `nlnet: ` prefix, on one line. */
export function describeError(e: unknown): string {
  let text: string;
  if (e instanceof ValidationError) {
    const top = e.field.split('.')[0]!;
    const flag = FLAG_OF[top];
    text = flag !== undefined && e.message.startsWith(`${e.field}:`) ? `${e.field === top ? flag : `${flag} ${e.field.slice(top.length + 1)}`}:${e.message.slice(e.field.length + 1)}` : e.message;
  } else if (e instanceof Error) {
    text = e.message;
  } else {
    text = String(e);
  }
  return printable(text.replace(/\s*\n\s*/g, ' ').trim());
}

/** Control characters and bidirectional overrides: echoed raw, they could rewrite the user's terminal line. */
const UNPRINTABLE = /[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/** Longer than this without a space, a word is the user's input echoed back (a 128 KiB name): shortened. */
const LONG_WORD = 200;

/**
 * A message as it can be printed: control characters escaped as JSON escapes them (`\u001b`),
 * and echoed input longer than LONG_WORD cut to its start and its length.
 */
export function printable(text: string): string {
  const escaped = text.replace(UNPRINTABLE, (c) => (c === '\t' ? '\\t' : c === '\r' ? '\\r' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  return escaped.replace(new RegExp(`\\S{${LONG_WORD + 1},}`, 'gu'), (w) => {
    const chars = [...w];
    return `${chars.slice(0, 64).join('')}…[${chars.length} characters]`;
  });
}

/** The exit code for an error (see EXIT). */
export function exitCodeOf(e: unknown): number {
  if (e instanceof UsageError || e instanceof FormatError) return EXIT.usage;
  return EXIT.failed;
}

/** Whether the error comes from nlnet's own checks or the kernel, rather than a bug in nlnet. */
export function isExpected(e: unknown): boolean {
  return e instanceof UsageError || e instanceof FormatError || e instanceof ValidationError || e instanceof NotFoundError || e instanceof ConflictError || e instanceof NetlinkError || e instanceof SpawnError || e instanceof PrivilegeError || e instanceof TemplateError || e instanceof StoreError;
}
