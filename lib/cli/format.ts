// Output in docker's shapes: aligned tables, `--format json` (one object per line for lists),
// `--format '{{.Field}}'` templates, and "2 minutes ago". Pure: every function returns text.

/**
 * Columns aligned as docker's tabwriter aligns them (minimum width 10, padding 3): each column
 * but the last is as wide as its longest cell plus three spaces, and at least ten characters.
 */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, c) => Math.max(10, ...all.map((r) => (r[c] ?? '').length + 3)));
  return all
    .map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join(''))
    .map((line) => `${line.trimEnd()}\n`)
    .join('');
}

/** How long ago, in the words `docker ps` uses for CREATED: "Less than a second", "3 minutes", "About an hour". */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.floor(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  // Hours round to the nearest: 1 h 40 min is "2 hours", as docker says it.
  const h = Math.floor(ms / 3_600_000 + 0.5);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 14) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 60) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 730) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

/** Go's time format as docker prints CreatedAt: `2024-05-01 10:00:00.123 +0000 UTC`. */
export function dockerTime(iso: string): string {
  return `${iso.replace('T', ' ').replace('Z', '')} +0000 UTC`;
}

/** What `--format` asked for: docker's table (the default), one JSON object per line, or a template. */
export type OutputFormat = { kind: 'table' } | { kind: 'json' } | { kind: 'template'; template: string };

export class FormatError extends Error {
  override readonly name = 'FormatError';
}

/** A template that parsed but cannot be filled (a field the object does not have): Go's execution error. */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

/** Fields that are maps in docker's objects: a missing key there is Go's "<no value>", not an error. */
const MAP_FIELDS = new Set(['Labels', 'Options', 'Containers', 'Networks', 'Ports', 'PortBindings', 'ConfigOptions', 'Peers']);

export function parseFormat(value: string | undefined): OutputFormat {
  if (value === undefined || value === '' || value === 'table') return { kind: 'table' };
  if (value === 'json') return { kind: 'json' };
  if (!value.includes('{{')) throw new FormatError(`--format: expected "table", "json" or a template such as '{{.Name}}' (got ${JSON.stringify(value)})`);
  checkTemplate(value);
  return { kind: 'template', template: value };
}

const ACTION = /\{\{\s*(json\s+)?\.([A-Za-z0-9_.]*)\s*\}\}/g;

/** The subset of Go templates supported: `{{.Field}}`, `{{.A.B}}`, `{{json .}}`, `{{json .Field}}`. */
function checkTemplate(template: string): void {
  const rest = template.replace(ACTION, '');
  if (rest.includes('{{') || rest.includes('}}')) throw new FormatError(`--format: only {{.Field}}, {{.A.B}} and {{json .Field}} are supported (got ${JSON.stringify(template)})`);
}

/**
 * Fills a template from one object: `\t` and `\n` as written become tabs and newlines, as the
 * docker CLI's templates do; strings print bare, anything else as JSON. A missing key of a map
 * field (Labels, Options…) prints "<no value>" (Go's words); a field the object does not have is
 * a TemplateError, as Go's "can't evaluate field" is for docker's structs.
 */
export function renderTemplate(template: string, data: unknown): string {
  const text = template.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  return text.replace(ACTION, (all, json: string | undefined, path: string) => {
    let v: unknown = data;
    let parent = '';
    for (const key of path.split('.').filter((k) => k !== '')) {
      const inMap = MAP_FIELDS.has(parent);
      if (typeof v !== 'object' || v === null || (!(key in v) && !inMap)) throw new TemplateError(`template: executing ${JSON.stringify(template)} at <${all.replace(/^\{\{\s*|\s*\}\}$/g, '')}>: can't evaluate field ${key}`);
      v = (v as Record<string, unknown>)[key];
      parent = key;
    }
    if (json !== undefined) return JSON.stringify(v ?? null);
    if (v === undefined) return '<no value>';
    return typeof v === 'string' ? v : JSON.stringify(v);
  });
}

/** A listing (`ls`): the table, one JSON object per line, or one filled template per line. */
export function formatList<T>(format: OutputFormat, items: readonly T[], headers: readonly string[], row: (item: T) => string[]): string {
  switch (format.kind) {
    case 'table':
      return table(headers, items.map(row));
    case 'json':
      return items.map((i) => `${JSON.stringify(i)}\n`).join('');
    case 'template':
      return items.map((i) => `${renderTemplate(format.template, i)}\n`).join('');
    default: {
      const unknown: never = format;
      throw new FormatError(`unknown format ${JSON.stringify(unknown)}`);
    }
  }
}

/** `inspect`: docker's indented JSON array, or one filled template per object. */
export function formatInspect(format: OutputFormat, items: readonly unknown[]): string {
  if (format.kind === 'template') return items.map((i) => `${renderTemplate(format.template, i)}\n`).join('');
  return `${JSON.stringify(items, null, 4)}\n`;
}
