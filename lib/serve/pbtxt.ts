/**
 * Protocol-buffer text format (the syntax of Triton's config.pbtxt): a tokenizer and parser into a generic
 * message tree, and a writer from plain objects. The schema (which fields a ModelConfig has) is model-config.ts's.
 */
import { TrtnError } from '../errors.js';

/** An enum value written bare (TYPE_FP32), as distinct from a string written quoted. */
export class EnumValue {
  constructor(readonly name: string) {}
}

export type TextScalar = string | number | boolean | EnumValue;
export type TextValue = TextScalar | TextMessage;
export interface TextField {
  name: string;
  value: TextValue;
  line: number;
}
export interface TextMessage {
  fields: TextField[];
}

export const isMessage = (v: TextValue): v is TextMessage => typeof v === 'object' && !(v instanceof EnumValue);

interface Token {
  kind: 'ident' | 'number' | 'string' | 'punct' | 'eof';
  text: string;
  value?: string | number;
  line: number;
}

function syntax(file: string, line: number, message: string): TrtnError {
  return new TrtnError('ERR_DATA_FORMAT', `${file}:${line}: ${message}`, { file, line });
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', '?': '?' };

function tokenize(text: string, file: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if ('{}[]:,;<>'.includes(c)) {
      tokens.push({ kind: 'punct', text: c, line });
      i++;
    } else if (c === '"' || c === "'") {
      let out = '';
      let j = i + 1;
      for (;;) {
        const d = text[j];
        if (d === undefined || d === '\n') throw syntax(file, line, 'unterminated string');
        if (d === c) break;
        if (d === '\\') {
          const e = text[j + 1] ?? '';
          if (e in ESCAPES) {
            out += ESCAPES[e];
            j += 2;
          } else if (/[xX]/.test(e) && /[0-9a-fA-F]/.test(text[j + 2] ?? '')) {
            const hex = /^[0-9a-fA-F]{1,2}/.exec(text.slice(j + 2))![0];
            out += String.fromCharCode(parseInt(hex, 16));
            j += 2 + hex.length;
          } else if (/[0-7]/.test(e)) {
            const oct = /^[0-7]{1,3}/.exec(text.slice(j + 1))![0];
            out += String.fromCharCode(parseInt(oct, 8));
            j += 1 + oct.length;
          } else {
            throw syntax(file, line, `invalid escape '\\${e}' in string`);
          }
        } else {
          out += d;
          j++;
        }
      }
      tokens.push({ kind: 'string', text: text.slice(i, j + 1), value: out, line });
      i = j + 1;
    } else {
      const m = /^(-?(?:0[xX][0-9a-fA-F]+|[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)[fF]?)|^([A-Za-z_][A-Za-z0-9_.]*)/.exec(text.slice(i));
      if (!m) throw syntax(file, line, `unexpected character '${c}'`);
      if (m[1] !== undefined) {
        const raw = m[1].replace(/[fF]$/, '');
        tokens.push({ kind: 'number', text: m[1], value: /0[xX]/.test(raw) ? parseInt(raw, 16) : Number(raw), line });
      } else {
        tokens.push({ kind: 'ident', text: m[2]!, line });
      }
      i += m[0].length;
    }
  }
  tokens.push({ kind: 'eof', text: 'end of file', line });
  return tokens;
}

/** Parse text format into a generic message; syntax errors are ERR_DATA_FORMAT naming file and line. */
export function parseTextFormat(text: string, file = '<config.pbtxt>'): TextMessage {
  const tokens = tokenize(text, file);
  let pos = 0;
  const peek = (): Token => tokens[pos]!;
  const next = (): Token => tokens[pos++]!;
  const accept = (p: string): boolean => {
    if (peek().kind === 'punct' && peek().text === p) {
      pos++;
      return true;
    }
    return false;
  };
  const expect = (p: string): void => {
    if (!accept(p)) throw syntax(file, peek().line, `expected '${p}' but found '${peek().text}'`);
  };

  function scalar(): TextScalar {
    const t = next();
    if (t.kind === 'string') {
      let s = t.value as string;
      // Adjacent string literals concatenate, as in C.
      while (peek().kind === 'string') s += next().value as string;
      return s;
    }
    if (t.kind === 'number') return t.value as number;
    if (t.kind === 'ident') {
      if (t.text === 'true' || t.text === 'True' || t.text === 't') return true;
      if (t.text === 'false' || t.text === 'False' || t.text === 'f') return false;
      if (t.text === 'inf' || t.text === 'infinity') return Infinity;
      if (t.text === 'nan') return NaN;
      return new EnumValue(t.text);
    }
    throw syntax(file, t.line, `expected a value but found '${t.text}'`);
  }

  function messageBody(close: string | null): TextMessage {
    const fields: TextField[] = [];
    for (;;) {
      const t = peek();
      if (close === null ? t.kind === 'eof' : t.kind === 'punct' && t.text === close) {
        pos++;
        return { fields };
      }
      if (t.kind === 'eof') throw syntax(file, t.line, `expected '${close}' before end of file`);
      if (t.kind !== 'ident') throw syntax(file, t.line, `expected a field name but found '${t.text}'`);
      next();
      const colon = accept(':');
      const open = (): string | null => (accept('{') ? '}' : accept('<') ? '>' : null);
      const end = open();
      if (end) {
        fields.push({ name: t.text, value: messageBody(end), line: t.line });
      } else if (accept('[')) {
        if (!accept(']')) {
          do {
            const e = open();
            if (!e && !colon) throw syntax(file, t.line, `field '${t.text}': a list of scalars needs ':' before '['`);
            fields.push({ name: t.text, value: e ? messageBody(e) : scalar(), line: t.line });
          } while (accept(','));
          expect(']');
        }
      } else {
        if (!colon) throw syntax(file, t.line, `expected ':' after field '${t.text}'`);
        fields.push({ name: t.text, value: scalar(), line: t.line });
      }
      if (!accept(',')) accept(';');
    }
  }
  return messageBody(null);
}

/** A value for the writer: a nested object is a message; an array is a repeated field. */
export type WritableValue = string | number | boolean | EnumValue | WritableMessage | readonly (string | number | boolean | EnumValue)[] | readonly WritableMessage[];
export interface WritableMessage {
  [field: string]: WritableValue | undefined;
}

const quote = (s: string): string => `"${s.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\n/g, '\\n').replace(/\t/g, '\\t').replace(/\r/g, '\\r')}"`;
const scalarText = (v: string | number | boolean | EnumValue): string => (v instanceof EnumValue ? v.name : typeof v === 'string' ? quote(v) : String(v));
const isWritableMessage = (v: unknown): v is WritableMessage => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof EnumValue);

/** Write a message in text format, two-space indented, fields in the object's key order; undefined fields are left out. */
export function formatTextFormat(message: WritableMessage, indent = ''): string {
  const lines: string[] = [];
  const inner = `${indent}  `;
  for (const [name, value] of Object.entries(message)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      if (value.length > 0 && isWritableMessage(value[0])) {
        const items = (value as WritableMessage[]).map((m) => `${inner}{\n${formatTextFormat(m, `${inner}  `)}${inner}}`);
        lines.push(`${indent}${name} [\n${items.join(',\n')}\n${indent}]`);
      } else {
        lines.push(`${indent}${name}: [ ${(value as (string | number | boolean | EnumValue)[]).map(scalarText).join(', ')} ]`);
      }
    } else if (isWritableMessage(value)) {
      lines.push(`${indent}${name} {\n${formatTextFormat(value, inner)}${indent}}`);
    } else {
      lines.push(`${indent}${name}: ${scalarText(value as string | number | boolean | EnumValue)}`);
    }
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}
