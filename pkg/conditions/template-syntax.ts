// Where the variables are in a piece of text, nested ones included, as Kyverno finds them. Kyverno's regular
// expression (pkg/engine/variables/regex: "{{", then characters other than braces or one level of {...}, then "}}",
// not after a backslash) matches the innermost variables; their values are put into the text and the text is
// searched again, so "{{ f('{{ a }}') }}" is found in two passes. Here the same structure is read once from the text
// as the policy writes it, so that nothing a value brings (braces, quotes) can change it:
//
//   variable := "{{" body "}}"          (not after a backslash)
//   body     := ( group | variable | any character but a brace )*
//   group    := "{" ( variable | any character but a brace )* "}"
//
// A "{{" inside a body that is not a variable (unclosed, or escaped with a backslash) makes the enclosing variable
// no variable either, as in Kyverno, where the outer text then never matches. Such text stays literal; the scan goes
// on from the character after its "{{", so a variable inside it is still found, as Kyverno's first pass finds it.
//
// The scan uses an explicit stack and remembers each start position's outcome (a variable's extent does not depend
// on what encloses it), so text of any length and any number of "{{" is read in about linear time.

export interface VariableSpan {
  /** Index of the opening "{{". */
  readonly open: number;
  /** Index just after the closing "}}". */
  readonly end: number;
  /** The variables directly inside this one, in order. */
  readonly inner: readonly VariableSpan[];
  /** 1 for a variable with nothing nested, else one more than its deepest inner variable. */
  readonly depth: number;
}

/** Each start position's outcome: a variable, none (null), or not known yet (undefined). */
class Memo {
  readonly #failed: Uint8Array;
  readonly #found = new Map<number, VariableSpan>();

  constructor(length: number) {
    this.#failed = new Uint8Array(length);
  }

  get(position: number): VariableSpan | null | undefined {
    return this.#failed[position] === 1 ? null : this.#found.get(position);
  }

  set(position: number, span: VariableSpan | null): void {
    if (span === null) this.#failed[position] = 1;
    else this.#found.set(position, span);
  }
}

interface Frame {
  readonly open: number;
  readonly inner: VariableSpan[];
  depth: number;
  inGroup: boolean;
}

/** The outermost variables of `text`, in order. */
export function findVariables(text: string): VariableSpan[] {
  const memo = new Memo(text.length);
  const found: VariableSpan[] = [];
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('{{', i);
    if (open < 0) break;
    const span = open > 0 && text[open - 1] === '\\' ? null : parseVariable(text, open, memo);
    if (span === null) {
      i = open + 1;
      continue;
    }
    found.push(span);
    i = span.end;
  }
  return found;
}

function parseVariable(text: string, start: number, memo: Memo): VariableSpan | null {
  const known = memo.get(start);
  if (known !== undefined) return known;
  const stack: Frame[] = [{ open: start, inner: [], depth: 1, inGroup: false }];
  const fail = (): null => {
    for (const frame of stack) memo.set(frame.open, null);
    return null;
  };
  const adopt = (frame: Frame, span: VariableSpan) => {
    frame.inner.push(span);
    frame.depth = Math.max(frame.depth, span.depth + 1);
  };
  let i = start + 2;
  for (;;) {
    if (i >= text.length) return fail();
    const frame = stack[stack.length - 1]!;
    const c = text[i];
    if (c === '}') {
      if (frame.inGroup) {
        frame.inGroup = false;
        i++;
        continue;
      }
      if (text[i + 1] !== '}') return fail();
      const span: VariableSpan = { open: frame.open, end: i + 2, inner: frame.inner, depth: frame.depth };
      memo.set(frame.open, span);
      stack.pop();
      if (stack.length === 0) return span;
      adopt(stack[stack.length - 1]!, span);
      i = span.end;
      continue;
    }
    if (c === '{') {
      if (text[i + 1] === '{') {
        if (text[i - 1] === '\\') return fail();
        const nested = memo.get(i);
        if (nested === null) return fail();
        if (nested !== undefined) {
          adopt(frame, nested);
          i = nested.end;
          continue;
        }
        stack.push({ open: i, inner: [], depth: 1, inGroup: false });
        i += 2;
        continue;
      }
      if (frame.inGroup) return fail();
      frame.inGroup = true;
    }
    i++;
  }
}
