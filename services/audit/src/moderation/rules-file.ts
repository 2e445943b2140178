import { readFileSync } from 'node:fs';
import { LineCounter, isNode, parseDocument } from 'yaml';
import { RulesFile } from './rules.js';

/** A rules file that cannot be used; the message names the file, the line and the problem. */
export class RulesFileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    problem: string,
  ) {
    super(`moderation rules ${file}${line === undefined ? '' : `, line ${line}`}: ${problem}`);
    this.name = 'RulesFileError';
  }
}

/**
 * Parses a rules file's text (YAML, so JSON too) and checks it against the schema. Throws a
 * RulesFileError naming the line of the first problem: a syntax error where the parser stopped,
 * a schema error at the value (or, for a missing field, the object) it concerns. Pure.
 */
export function parseRules(text: string, file: string): RulesFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const syntax = doc.errors[0];
  if (syntax) {
    const line = syntax.linePos?.[0].line ?? lines.linePos(syntax.pos[0]).line;
    throw new RulesFileError(file, line, `${syntax.message.split('\n')[0]} (${syntax.code})`);
  }
  const parsed = RulesFile.safeParse(doc.toJS());
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  // The deepest node that exists on the issue's path: the value itself, or the object missing a field.
  let line: number | undefined;
  for (let n = issue.path.length; n >= 0 && line === undefined; n--) {
    const node: unknown = doc.getIn(issue.path.slice(0, n), true);
    if (isNode(node) && node.range) line = lines.linePos(node.range[0]).line;
  }
  const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  throw new RulesFileError(file, line, `${where}${issue.message}`);
}

/** Reads and parses a rules file; a file that cannot be read is a RulesFileError too. */
export function loadRulesFile(file: string): RulesFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new RulesFileError(file, undefined, `cannot read it: ${e instanceof Error ? e.message : String(e)}`);
  }
  return parseRules(text, file);
}
