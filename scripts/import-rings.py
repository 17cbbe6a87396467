#!/usr/bin/env python3
"""Lists the files of src/ that import each other, directly or in a ring.

A file imports another when a `use` (or an inline `crate::…` / `super::…` path) names an item
of the other file's module. A module's own `mod` lines are not imports, nor are a mod.rs's
`pub use` re-exports of its children (its facade); a mod.rs using a child's item is. Exit 1 when a ring
exists, so CI keeps the layering one-way.
"""
import os
import re
import sys

ARGS = [a for a in sys.argv[1:] if not a.startswith("-")]
ROOT = ARGS[0] if ARGS else "src"


def module_of(path):
    rel = os.path.relpath(path, ROOT)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return tuple(rel)


files = {}
for dirpath, _, names in os.walk(ROOT):
    for name in names:
        if name.endswith(".rs"):
            path = os.path.join(dirpath, name)
            mod = module_of(path)
            if name == "main.rs":
                continue
            files[mod] = path


def strip(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    return text


def inline_mod_depths(text):
    """A function giving, for a position in `text`, how many inline `mod x { … }` enclose it."""
    marks, stack = [], []
    for m in re.finditer(r"\bmod\s+\w+\s*\{|[{}]", text):
        tok = m.group(0)
        if tok == "}":
            if stack:
                stack.pop()
        else:
            stack.append(tok != "{")
        marks.append((m.end(), sum(stack)))

    def depth_at(pos):
        depth = 0
        for end, d in marks:
            if end > pos:
                break
            depth = d
        return depth

    return depth_at


def expand(tree):
    """Expands a use tree (`a::{b, c::{d}}`) into paths."""
    tree = tree.strip()
    m = re.match(r"^([\w:]*?)::\{(.*)\}$", tree, flags=re.S)
    if not m:
        return [tree.split(" as ")[0].strip()]
    prefix, inner = m.group(1), m.group(2)
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    out = []
    for p in parts:
        p = p.strip()
        if not p:
            continue
        if p == "self":
            out.append(prefix)
        else:
            out.extend(expand(prefix + "::" + p))
    return out


def resolve(mod, path, is_mod_file, inline_depth=0):
    segs = path.split("::")
    base = list(mod)
    # Inside `mod tests { … }` (inline modules), the first `super`s lead back to this file.
    while inline_depth and segs and segs[0] in ("super", "self"):
        if segs[0] == "super":
            inline_depth -= 1
        segs = segs[1:]
        if not segs or segs[0] not in ("super", "self"):
            return mod
    if segs[0] == "crate":
        base, segs = [], segs[1:]
    elif segs[0] in ("super", "self"):
        # a mod.rs file is its module; `super` of a leaf file is its parent
        while segs and segs[0] in ("super", "self"):
            if segs[0] == "super":
                base = base[:-1]
            segs = segs[1:]
    elif is_mod_file and tuple(list(mod) + [segs[0]]) in files:
        pass  # a mod.rs naming its own child module: `use child::Item`
    else:
        return None
    full = base + segs
    for n in range(len(full), -1, -1):
        cand = tuple(full[:n])
        if cand in files:
            return cand
    return None


edges = {m: set() for m in files}
for mod, path in files.items():
    text = strip(open(path, encoding="utf-8").read())
    is_mod_file = path.endswith(("mod.rs", "lib.rs"))
    depth_at = inline_mod_depths(text)
    paths = []
    for m in re.finditer(r"(\bpub(?:\([^)]*\))?\s+)?\buse\s+([^;]+);", text):
        # A mod.rs re-exporting its children (`pub use child::Item`) is the module's facade,
        # not an import of theirs; everything else counts.
        if m.group(1) and is_mod_file:
            continue
        paths.extend((p, depth_at(m.start())) for p in expand(m.group(2)))
    for m in re.finditer(r"\b((?:crate|super)(?:::\w+)+)", text):
        if text[max(0, m.start() - 40):m.start()].rstrip().endswith(("use", "{", ",")):
            continue  # already taken from its `use` statement
        paths.append((m.group(1), depth_at(m.start())))
    for p, depth in paths:
        target = resolve(mod, p, is_mod_file, depth)
        if target is None or target == mod:
            continue
        edges[mod].add(target)

# Tarjan's strongly connected components
index, low, stack, on, rings, counter = {}, {}, [], set(), [], [0]


def visit(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in edges[v]:
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on.discard(w)
            comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            rings.append(comp)


sys.setrecursionlimit(10000)
for v in sorted(edges):
    if v not in index:
        visit(v)

for comp in rings:
    print("ring:", " ↔ ".join(sorted(files[m] for m in comp)))
    if "-v" in sys.argv:
        for m in sorted(comp):
            print("   ", files[m], "→", ", ".join(sorted(files[t] for t in edges[m] if t in comp)))
print(f"{len(rings)} ring(s) among {len(files)} files")
sys.exit(1 if rings else 0)
