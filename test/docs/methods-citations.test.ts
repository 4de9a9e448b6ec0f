// Code comments, configs and docs cite the method reference as `methods.md <id>` ("methods.md A8", "(methods.md A3,
// A11)", "methods.md A6–A10, B2, F", "methods.md A3/A14-8", "methods.md Part E", a YAML comment wrapping the id onto
// the next "#" line). Every cited id must be a heading of docs/methods.md: `# Part E — …` (part E), `## A8 …`,
// `### A5.1 …`; `A14-8` is item 8 of section A14 and needs that numbered item too.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { test } from "node:test";
import { REPO } from "../support/paths.js";

const METHODS = join(REPO, "docs", "methods.md");
/** Where citations are looked for (files or folders, relative to the repository root). */
const ROOTS = ["src", "docs", "configs", "tools", "test", "scripts", "bin", "native", "README.md"];
const SKIP_DIRS = new Set(["node_modules", "dist", "build", ".git"]);
/** Committed test data, not prose. */
const SKIP_PATHS = new Set(["test/fixtures"]);
const TEXT_EXT = new Set([".ts", ".mts", ".js", ".mjs", ".cjs", ".py", ".md", ".yaml", ".yml", ".sh", ".cc", ".h"]);
/** This file cites made-up ids in its parser checks. */
const SELF = "test/docs/methods-citations.test.ts";

interface Citation {
  /** "A8", "A5.1", "E" (from "Part E"). */
  id: string;
  /** The numbered item of the section ("A14-8" -> 8). */
  item?: number;
  /** 1-based line of the id. */
  line: number;
}

/** Leading comment markers of a line (`#`, `//`, `/*`, `*`, `"""`, `<!--`) with the whitespace around them. */
const LEAD = /^\s*(?:#+|\/\/+|\/\*+|\*+(?!\/)|"""|<!--)?\s*/;
/** One id: optional "Part " / "§", section letter A–F, optional numbers, optional "-<item>". */
const ID = /(?:Part\s+|§\s*)?([A-F](?:\d+(?:\.\d+)*)?)(?:-(\d+)(?![\w.]))?(?!\w)/y;
/** Between the ids of one list: ", ", "/", " / ", " and ". */
const SEP = /\s*(?:,|\/|&|\band\b)\s*/y;
/** A range: "A6–A10" (en dash, em dash or hyphen followed by another id). */
const RANGE = /\s*[–—-]\s*/y;

function matchAt(re: RegExp, text: string, at: number): RegExpExecArray | null {
  re.lastIndex = at;
  return re.exec(text);
}

/** Every `methods.md <id list>` in a file's text, ids allowed on the next line after comment markers. */
function extractCitations(source: string): Citation[] {
  // Strip each line's comment markers and join, remembering where each line starts in the joined text.
  const starts: number[] = [];
  let text = "";
  for (const raw of source.split("\n")) {
    starts.push(text.length);
    text += `${raw.replace(LEAD, "")}\n`;
  }
  const lineAt = (offset: number): number => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  const out: Citation[] = [];
  for (const m of text.matchAll(/methods\.md(?![\w-])/g)) {
    // The ids follow after whitespace ("methods.md A8") or a section sign ("methods.md §A8").
    const end = m.index + m[0].length;
    let at = end + (matchAt(/\s*/y, text, end)?.[0].length ?? 0);
    if (at === end && text[at] !== "§") continue;
    let first = true;
    for (;;) {
      let pos = at;
      if (!first) {
        const sep = matchAt(SEP, text, pos);
        if (!sep) break;
        pos += sep[0].length;
      }
      const id = matchAt(ID, text, pos);
      if (!id) break;
      const item = id[2] === undefined ? undefined : Number(id[2]);
      out.push({ id: id[1]!, ...(item === undefined ? {} : { item }), line: lineAt(pos) });
      pos += id[0].length;
      // "A6–A10": every section in between is cited too.
      const dash = matchAt(RANGE, text, pos);
      const to = dash ? matchAt(ID, text, pos + dash[0].length) : null;
      if (dash && to) {
        const a = /^([A-F])(\d+)$/.exec(id[1]!);
        const b = /^([A-F])(\d+)$/.exec(to[1]!);
        const line = lineAt(pos + dash[0].length);
        if (a && b && a[1] === b[1] && Number(a[2]) < Number(b[2])) {
          for (let k = Number(a[2]) + 1; k < Number(b[2]); k++) out.push({ id: `${a[1]}${k}`, line });
        }
        out.push({ id: to[1]!, line });
        pos += dash[0].length + to[0].length;
      }
      at = pos;
      first = false;
    }
  }
  return out;
}

interface Section {
  level: number;
  /** Lines of the section's own body, up to the next heading of the same or a higher level. */
  body: string[];
}

/** Headings of docs/methods.md that carry an id, outside fenced code blocks. */
function headingIds(markdown: string): Map<string, Section> {
  const ids = new Map<string, Section>();
  const open: Section[] = [];
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const h = fenced ? null : /^(#{1,6})\s+(.*)$/.exec(line);
    if (h) {
      const level = h[1]!.length;
      while (open.length > 0 && open[open.length - 1]!.level >= level) open.pop();
      const id = /^(?:Part\s+)?([A-F](?:\d+(?:\.\d+)*)?)(?=[\s.:—–-]|$)/.exec(h[2]!);
      if (id) {
        assert.ok(!ids.has(id[1]!), `docs/methods.md: heading id ${id[1]} appears twice`);
        const s: Section = { level, body: [] };
        ids.set(id[1]!, s);
        open.push(s);
      }
      continue;
    }
    for (const s of open) s.body.push(line);
  }
  return ids;
}

function hasItem(s: Section, n: number): boolean {
  return s.body.some((l) => new RegExp(`^\\s*${n}\\.\\s`).test(l));
}

function files(rel: string): string[] {
  if (SKIP_PATHS.has(rel)) return [];
  const p = join(REPO, rel);
  if (!existsSync(p)) return [];
  const st = statSync(p);
  if (st.isDirectory()) {
    return readdirSync(p)
      .filter((n) => !SKIP_DIRS.has(n))
      .sort()
      .flatMap((n) => files(join(rel, n)));
  }
  return st.isFile() && TEXT_EXT.has(extname(p)) && rel !== SELF ? [rel] : [];
}

test("the citation parser reads every form the repository uses", () => {
  const ids = (s: string) => extractCitations(s).map((c) => (c.item === undefined ? c.id : `${c.id}-${c.item}`));
  assert.deepEqual(ids("/** Losses (methods.md A6). */"), ["A6"]);
  assert.deepEqual(ids("# train 5717 (methods.md A3,\n#   A11)."), ["A3", "A11"]);
  assert.deepEqual(ids("# not published (methods.md\n#   A12, A15)."), ["A12", "A15"]);
  assert.deepEqual(ids(" * values (methods.md A6–A10, B2, F). Nested"), ["A6", "A7", "A8", "A9", "A10", "B2", "F"]);
  assert.deepEqual(ids(" * as SR4IR (methods.md A3/A14-8);"), ["A3", "A14-8"]);
  assert.deepEqual(ids(" * T→S (= TDSR, methods.md B2 / A10): the"), ["B2", "A10"]);
  assert.deepEqual(ids(" * protocols (methods.md A11 and D) and"), ["A11", "D"]);
  assert.deepEqual(ids("(methods.md D, BasicSR): crop"), ["D"]);
  assert.deepEqual(ids('(methods.md A10, "SwT"): SR'), ["A10"]);
  assert.deepEqual(ids('methods.md A5.4\'s "/16"'), ["A5.4"]);
  assert.deepEqual(ids("# methods.md Part E: the row"), ["E"]);
  assert.deepEqual(ids("see methods.md §A8."), ["A8"]);
  assert.deepEqual(ids("[docs/methods.md](docs/methods.md) and methods.md alone"), []);
  assert.deepEqual(ids("methods.md Abstract"), []);
  const lines = extractCitations("a\n# x (methods.md\n#   A12, A15).\n").map((c) => c.line);
  assert.deepEqual(lines, [3, 3], "the line of the id, not of 'methods.md'");
});

test("docs/methods.md has one heading per part and section id", () => {
  const ids = headingIds(readFileSync(METHODS, "utf8"));
  for (const id of ["A", "B", "C", "D", "E", "F", "A5.1", "A5.5", "A15", "B6"]) assert.ok(ids.has(id), id);
  for (let k = 1; k <= 15; k++) assert.ok(ids.has(`A${k}`), `A${k}`);
  for (let k = 1; k <= 6; k++) assert.ok(ids.has(`B${k}`), `B${k}`);
});

test("every `methods.md <id>` cited in the repository names a heading of docs/methods.md", (t) => {
  const headings = headingIds(readFileSync(METHODS, "utf8"));
  const paths = ROOTS.flatMap(files);
  assert.ok(paths.some((p) => p.startsWith("src/")) && paths.some((p) => p.startsWith("configs/")), "walked nothing");
  assert.ok(!paths.includes(SELF));
  const missing: string[] = [];
  let count = 0;
  const cited = new Set<string>();
  for (const rel of paths) {
    for (const c of extractCitations(readFileSync(join(REPO, rel), "utf8"))) {
      count++;
      cited.add(c.id);
      const s = headings.get(c.id);
      const label = c.item === undefined ? c.id : `${c.id}-${c.item}`;
      if (s === undefined)
        missing.push(`${rel}:${c.line}: methods.md ${label}: no heading "${c.id}" in docs/methods.md`);
      else if (c.item !== undefined && !hasItem(s, c.item))
        missing.push(`${rel}:${c.line}: methods.md ${label}: section ${c.id} has no numbered item ${c.item}`);
    }
  }
  assert.ok(count > 0, "no methods.md citation found: the walk or the parser is broken");
  assert.deepEqual(missing, [], `${missing.length} citation(s) do not resolve:\n${missing.join("\n")}`);
  t.diagnostic(`${count} citations of ${cited.size} ids: ${[...cited].sort().join(" ")}`);
});
