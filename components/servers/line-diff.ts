export type DiffLine = { kind: "same" | "added" | "removed"; text: string; oldNumber: number | null; newNumber: number | null };

// Past this many cells the LCS table costs more than a readable diff is worth: fall back to
// "all removed, then all added", which is still correct, just coarse.
const MAX_CELLS = 4_000_000;

/** A line diff (longest common subsequence), for tool definitions a reviewer reads side by side. */
export function diffLines(before: string, after: string): DiffLine[] {
  return diffSequences(before === "" ? [] : before.split("\n"), after === "" ? [] : after.split("\n"));
}

export type WordPart = { kind: DiffLine["kind"]; text: string };

/**
 * A word diff of prose (a tool description): whitespace runs are tokens too, so the parts join
 * back to the exact texts. A poisoned description often differs by one sentence in a paragraph.
 */
export function diffWords(before: string, after: string): WordPart[] {
  const tokens = (text: string) => text.split(/(\s+)/).filter((t) => t !== "");
  const parts: WordPart[] = [];
  for (const line of diffSequences(tokens(before), tokens(after))) {
    const last = parts.at(-1);
    if (last && last.kind === line.kind) last.text += line.text;
    else parts.push({ kind: line.kind, text: line.text });
  }
  return parts;
}

function diffSequences(a: string[], b: string[]): DiffLine[] {

  // Common head and tail need no table, and schemas usually differ in a few lines in the middle.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }

  const out: DiffLine[] = [];
  for (let i = 0; i < start; i++) out.push({ kind: "same", text: a[i] ?? "", oldNumber: i + 1, newNumber: i + 1 });

  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const n = midA.length;
  const m = midB.length;
  let oldNumber = start + 1;
  let newNumber = start + 1;

  const midStart = out.length;
  if (n * m > MAX_CELLS) {
    for (const text of midA) out.push({ kind: "removed", text, oldNumber: oldNumber++, newNumber: null });
    for (const text of midB) out.push({ kind: "added", text, oldNumber: null, newNumber: newNumber++ });
  } else {
    // lcs[i][j] = length of the LCS of midA[i..] and midB[j..], stored row-major.
    const width = m + 1;
    const lcs = new Uint32Array((n + 1) * width);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * width + j] = midA[i] === midB[j] ? (lcs[(i + 1) * width + j + 1] ?? 0) + 1 : Math.max(lcs[(i + 1) * width + j] ?? 0, lcs[i * width + j + 1] ?? 0);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && midA[i] === midB[j]) {
        out.push({ kind: "same", text: midA[i] ?? "", oldNumber: oldNumber++, newNumber: newNumber++ });
        i++;
        j++;
      } else if (j < m && (i >= n || (lcs[i * width + j + 1] ?? 0) >= (lcs[(i + 1) * width + j] ?? 0))) {
        out.push({ kind: "added", text: midB[j] ?? "", oldNumber: null, newNumber: newNumber++ });
        j++;
      } else {
        out.push({ kind: "removed", text: midA[i] ?? "", oldNumber: oldNumber++, newNumber: null });
        i++;
      }
    }
    // Removals read better before the additions that replace them.
    reorderHunks(out, midStart, out.length);
  }

  for (let k = 0; k < a.length - endA; k++) {
    out.push({ kind: "same", text: a[endA + k] ?? "", oldNumber: oldNumber++, newNumber: newNumber++ });
  }
  return out;
}

/** Within each run of changed lines, puts the removed lines first (stable within each kind). */
function reorderHunks(lines: DiffLine[], from: number, to: number): void {
  let k = from;
  while (k < to) {
    if (lines[k]?.kind === "same") {
      k++;
      continue;
    }
    let end = k;
    while (end < to && lines[end]?.kind !== "same") end++;
    const hunk = lines.slice(k, end);
    const sorted = [...hunk.filter((l) => l.kind === "removed"), ...hunk.filter((l) => l.kind === "added")];
    lines.splice(k, sorted.length, ...sorted);
    k = end;
  }
}

/** JSON with sorted keys, so that a reordered object does not show up as a change. */
export function stableJson(value: unknown): string {
  if (value === undefined) return "";
  return JSON.stringify(sortKeys(value), null, 2) ?? "";
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value as Record<string, unknown>)
        .sort()
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}
