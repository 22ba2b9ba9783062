/**
 * Characters PostgreSQL refuses or silently alters: NUL (refused in text and in jsonb) and
 * unpaired UTF-16 surrogates (refused in jsonb, turned into U+FFFD in text). With the `u` flag a
 * well-formed surrogate pair is one code point, so only lone halves match `\p{Cs}`.
 *
 * No Node API here: the dashboard's forms import it through `lib/schemas`.
 */
const UNSTORABLE = /[\0\p{Cs}]/u;
const UNSTORABLE_ALL = /[\0\p{Cs}]/gu;

export const UNSTORABLE_TEXT_MESSAGE = "Contains a character that cannot be stored (NUL or an unpaired surrogate)";

export const isStorableText = (text: string): boolean => !UNSTORABLE.test(text);

/**
 * The documented escape of the audit trail: each NUL or unpaired surrogate becomes the six
 * characters `\uXXXX` (lower-case hex, as JSON spells it), e.g. NUL → `\u0000`. Text without such a
 * character is returned as is, never copied.
 */
export function escapeUnstorable(text: string): { text: string; escaped: number } {
  if (!UNSTORABLE.test(text)) return { text, escaped: 0 };
  let escaped = 0;
  const out = text.replace(UNSTORABLE_ALL, (c) => {
    escaped++;
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
  return { text: out, escaped };
}

type Frame = { value: unknown; key: string | number | null; parent: Frame | null };

function pathOf(frame: Frame): Array<string | number> {
  const path: Array<string | number> = [];
  for (let f: Frame | null = frame; f && f.key !== null; f = f.parent) path.push(f.key);
  return path.reverse();
}

/**
 * The path of the first unstorable string or key in a parsed JSON value, or null. Iterative, so
 * that no nesting depth can overflow the stack; an unstorable key is named escaped.
 */
export function findUnstorable(value: unknown): Array<string | number> | null {
  const stack: Frame[] = [{ value, key: null, parent: null }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const v = frame.value;
    if (typeof v === "string") {
      if (!isStorableText(v)) return pathOf(frame);
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], key: i, parent: frame });
    } else if (v !== null && typeof v === "object") {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i]!;
        if (!isStorableText(key)) return [...pathOf(frame), escapeUnstorable(key).text];
        stack.push({ value: (v as Record<string, unknown>)[key], key, parent: frame });
      }
    }
  }
  return null;
}
