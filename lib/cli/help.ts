// `--help` text, laid out as docker's: a usage line, the summary, then the options. Pure.
import type { FlagSpec } from './args.js';
import { EXIT, GLOBAL_FLAGS, VERSION_FLAG, type Command, type Group } from './command.js';

function flagLines(flags: readonly FlagSpec[]): string {
  const left = flags.map((f) => {
    const names = `${f.short === undefined ? '    ' : `-${f.short}, `}--${f.name}`;
    return `  ${names}${f.value === undefined ? '' : ` ${f.value}`}`;
  });
  const width = Math.max(...left.map((l) => l.length)) + 3;
  return flags
    .map((f, i) => {
      const extra = [f.default === true ? 'default true' : '', f.aliases?.length ? `also --${f.aliases.join(', --')}` : ''].filter((x) => x !== '');
      return `${left[i]!.padEnd(width)}${f.help}${extra.map((x) => `; ${x}`).join('')}\n`;
    })
    .join('');
}

function commandLines(cmds: readonly { name: string; summary: string }[]): string {
  const width = Math.max(...cmds.map((c) => c.name.length)) + 3;
  return cmds.map((c) => `  ${c.name.padEnd(width)}${c.summary}\n`).join('');
}

export const EXIT_CODES_HELP = `Exit status:
  ${EXIT.ok}    success
  ${EXIT.failed}    the operation failed (not found, conflict, invalid value, kernel error); nothing changed
  ${EXIT.usage}    usage error (unknown command or flag, missing argument)
  exec/run: the command's own status, 128+N when signal N ended it, ${EXIT.notStarted} when nlnet failed
  before starting it, ${EXIT.cannotExecute} when it cannot be executed, ${EXIT.notFound} when it is not found
`;

export function commandHelp(path: string, cmd: Command): string {
  const aliases = cmd.aliases === undefined ? '' : `\nAliases:\n  ${[cmd.name, ...cmd.aliases].join(', ')}\n`;
  const options = cmd.flags.length === 0 ? '' : `\nOptions:\n${flagLines(cmd.flags)}`;
  const notes = cmd.notes === undefined ? '' : `\n${cmd.notes.trimEnd()}\n`;
  return `\nUsage:  nlnet ${path} ${cmd.usage}\n\n${cmd.summary}\n${aliases}${options}\nGlobal options:\n${flagLines(GLOBAL_FLAGS)}${notes}`;
}

export function groupHelp(group: Group): string {
  return `\nUsage:  nlnet ${group.name} COMMAND\n\n${group.summary}\n\nCommands:\n${commandLines(group.commands)}\nRun 'nlnet ${group.name} COMMAND --help' for more information on a command.\n`;
}

export function mainHelp(groups: readonly Group[], commands: readonly Command[]): string {
  return `
Usage:  nlnet [OPTIONS] COMMAND

Docker's network modes on Linux, without docker: networks, container sandboxes (network
namespaces), published ports and name resolution, over netlink.

Management commands:
${commandLines(groups)}
Commands:
${commandLines(commands)}
Options:
${flagLines([...GLOBAL_FLAGS, VERSION_FLAG])}
${EXIT_CODES_HELP}
Run 'nlnet COMMAND --help' for more information on a command.
`;
}
