#!/usr/bin/env python3
"""Render the public API of a crate from rustdoc's JSON output as sorted text.

Usage: public_api.py CRATE.json > CRATE.txt

One line per public item, per public method and associated item, per enum variant and
public field, and per trait implementation (auto traits included, blanket impls left out),
each under its public path. A header gives the number of items and methods per module.
"""

import json
import sys

KNOWN_FORMATS = {57}

# Auto traits of nightly only, which no user can name on stable: left out.
UNSTABLE_AUTO = {"Freeze", "UnsafeUnpin"}

# Kinds counted as items (modules, uses, fields, variants and impls are not items).
ITEM_KINDS = {
    "struct": "struct",
    "enum": "enum",
    "union": "union",
    "trait": "trait",
    "trait_alias": "trait",
    "function": "fn",
    "type_alias": "type",
    "constant": "const",
    "static": "static",
    "macro": "macro",
    "proc_macro": "macro",
}


class Api:
    def __init__(self, doc):
        self.doc = doc
        self.index = doc["index"]
        self.paths = doc.get("paths", {})
        self.crate = self.index[str(doc["root"])]["name"]
        self.lines = set()
        # item id -> list of public paths (for the per-module counts)
        self.item_paths = {}
        # item id -> (module path, number of methods)
        self.methods = {}
        self.visited = set()

    # ---- types -------------------------------------------------------------------------

    def name_of(self, id_, written):
        if written:
            return written.split("::")[-1]
        p = self.paths.get(str(id_))
        if p:
            return p["path"][-1]
        it = self.index.get(str(id_))
        if it and it.get("name"):
            return it["name"]
        return "?"

    def path(self, p):
        if p is None:
            return ""
        out = self.name_of(p.get("id"), p.get("path") or p.get("name"))
        return out + self.args(p.get("args"))

    def args(self, a):
        if not a:
            return ""
        if "angle_bracketed" in a:
            ab = a["angle_bracketed"]
            parts = [self.arg(x) for x in ab.get("args", [])]
            parts += [self.constraint(c) for c in ab.get("constraints", [])]
            return "<" + ", ".join(parts) + ">" if parts else ""
        if "parenthesized" in a:
            pz = a["parenthesized"]
            s = "(" + ", ".join(self.ty(t) for t in pz.get("inputs", [])) + ")"
            if pz.get("output"):
                s += " -> " + self.ty(pz["output"])
            return s
        if "return_type_notation" in a or a == "return_type_notation":
            return "(..)"
        return ""

    def arg(self, x):
        if x == "infer":
            return "_"
        if "type" in x:
            return self.ty(x["type"])
        if "lifetime" in x:
            return x["lifetime"]
        if "const" in x:
            c = x["const"]
            return c.get("expr") or c.get("value") or "_"
        return "?"

    def constraint(self, c):
        s = c["name"] + self.args(c.get("args"))
        b = c.get("binding", {})
        if "equality" in b:
            t = b["equality"]
            s += " = " + (self.ty(t["type"]) if "type" in t else str(t.get("constant", {}).get("expr", "_")))
        elif "constraint" in b:
            s += ": " + self.bounds(b["constraint"])
        return s

    def bounds(self, bs):
        return " + ".join(self.bound(b) for b in bs)

    def bound(self, b):
        if "trait_bound" in b:
            tb = b["trait_bound"]
            pre = ""
            if tb.get("generic_params"):
                pre = "for<" + ", ".join(self.param(p) for p in tb["generic_params"]) + "> "
            mod = tb.get("modifier", "none")
            m = {"maybe": "?", "maybe_const": "~const "}.get(mod, "")
            return pre + m + self.path(tb["trait"])
        if "outlives" in b:
            return b["outlives"]
        if "use" in b:
            names = []
            for u in b["use"]:
                if isinstance(u, str):
                    names.append(u)
                else:
                    names.append(next(iter(u.values())))
            return "use<" + ", ".join(names) + ">"
        return "?"

    def ty(self, t):
        if t is None:
            return "()"
        (k, v), = t.items()
        if k == "resolved_path":
            return self.path(v)
        if k == "generic":
            return v
        if k == "primitive":
            return v
        if k == "borrowed_ref":
            lt = v.get("lifetime")
            mut = v.get("is_mutable", v.get("mutable", False))
            return "&" + (lt + " " if lt else "") + ("mut " if mut else "") + self.ty(v["type"])
        if k == "raw_pointer":
            mut = v.get("is_mutable", v.get("mutable", False))
            return ("*mut " if mut else "*const ") + self.ty(v["type"])
        if k == "tuple":
            inner = ", ".join(self.ty(x) for x in v)
            return "(" + inner + ("," if len(v) == 1 else "") + ")"
        if k == "slice":
            return "[" + self.ty(v) + "]"
        if k == "array":
            return "[" + self.ty(v["type"]) + "; " + str(v["len"]) + "]"
        if k == "impl_trait":
            return "impl " + self.bounds(v)
        if k == "dyn_trait":
            parts = []
            for pt in v.get("traits", []):
                pre = ""
                if pt.get("generic_params"):
                    pre = "for<" + ", ".join(self.param(p) for p in pt["generic_params"]) + "> "
                parts.append(pre + self.path(pt["trait"]))
            if v.get("lifetime"):
                parts.append(v["lifetime"])
            return "dyn " + " + ".join(parts)
        if k == "qualified_path":
            self_ty = self.ty(v["self_type"])
            tr = v.get("trait")
            name = v["name"] + self.args(v.get("args"))
            if tr and (tr.get("path") or tr.get("id") is not None):
                return "<" + self_ty + " as " + self.path(tr) + ">::" + name
            return self_ty + "::" + name
        if k == "function_pointer":
            pre = ""
            if v.get("generic_params"):
                pre = "for<" + ", ".join(self.param(p) for p in v["generic_params"]) + "> "
            return pre + self.header(v.get("header", {})) + "fn" + self.sig(v["sig"], pointer=True)
        if k == "infer":
            return "_"
        if k == "pat":
            return self.ty(v["type"]) + " is " + v.get("__pat_unstable_do_not_use", "_")
        return "?" + k

    # ---- generics and signatures -------------------------------------------------------

    def param(self, p):
        (k, v), = p["kind"].items()
        if k == "lifetime":
            out = v.get("outlives") or []
            return p["name"] + (": " + " + ".join(out) if out else "")
        if k == "type":
            s = p["name"]
            if v.get("bounds"):
                s += ": " + self.bounds(v["bounds"])
            if v.get("default"):
                s += " = " + self.ty(v["default"])
            return s
        if k == "const":
            s = "const " + p["name"] + ": " + self.ty(v["type"])
            if v.get("default"):
                s += " = " + v["default"]
            return s
        return p["name"]

    def generics(self, g):
        ps = [p for p in (g or {}).get("params", [])
              if not (p["kind"].get("type") or {}).get("is_synthetic")]
        return "<" + ", ".join(self.param(p) for p in ps) + ">" if ps else ""

    def where(self, g):
        preds = []
        for w in (g or {}).get("where_predicates", []):
            (k, v), = w.items()
            if k == "bound_predicate":
                pre = ""
                if v.get("generic_params"):
                    pre = "for<" + ", ".join(self.param(p) for p in v["generic_params"]) + "> "
                preds.append(pre + self.ty(v["type"]) + ": " + self.bounds(v["bounds"]))
            elif k == "lifetime_predicate":
                preds.append(v["lifetime"] + ": " + " + ".join(v["outlives"]))
            elif k == "eq_predicate":
                rhs = v["rhs"]
                r = self.ty(rhs["type"]) if "type" in rhs else str(rhs)
                preds.append(self.ty(v["lhs"]) + " == " + r)
        return " where " + ", ".join(preds) if preds else ""

    def header(self, h):
        s = ""
        if h.get("is_const"):
            s += "const "
        if h.get("is_async"):
            s += "async "
        if h.get("is_unsafe"):
            s += "unsafe "
        abi = h.get("abi", "Rust")
        if abi != "Rust":
            s += 'extern "' + (abi if isinstance(abi, str) else next(iter(abi))) + '" '
        return s

    def sig(self, sig, pointer=False):
        ins = []
        for name, t in sig["inputs"]:
            if name == "self" and not pointer:
                if t == {"generic": "Self"}:
                    ins.append("self")
                    continue
                br = t.get("borrowed_ref")
                if br and br["type"] == {"generic": "Self"}:
                    lt = br.get("lifetime")
                    mut = br.get("is_mutable", br.get("mutable", False))
                    ins.append("&" + (lt + " " if lt else "") + ("mut " if mut else "") + "self")
                    continue
                ins.append("self: " + self.ty(t))
            elif pointer and name == "_":
                ins.append(self.ty(t))
            else:
                ins.append(name + ": " + self.ty(t))
        if sig.get("is_c_variadic"):
            ins.append("...")
        s = "(" + ", ".join(ins) + ")"
        if sig.get("output") is not None:
            s += " -> " + self.ty(sig["output"])
        return s

    def function(self, item, path):
        f = item["inner"]["function"]
        return ("pub " + self.header(f.get("header", {})) + "fn " + path
                + self.generics(f["generics"]) + self.sig(f["sig"]) + self.where(f["generics"]))

    def attrs(self, item):
        out = []
        for a in item.get("attrs", []):
            if a == "non_exhaustive" or (isinstance(a, str) and "non_exhaustive" in a):
                out.append("#[non_exhaustive] ")
            elif isinstance(a, dict) and "non_exhaustive" in a:
                out.append("#[non_exhaustive] ")
        return "".join(out)

    # ---- items -------------------------------------------------------------------------

    def add(self, path, text):
        self.lines.add((path, text))

    def walk_module(self, mid, path):
        if (mid, path) in self.visited:
            return
        self.visited.add((mid, path))
        m = self.index[str(mid)]
        for iid in m["inner"]["module"]["items"]:
            it = self.index.get(str(iid))
            if it is None:
                continue
            self.walk_item(it, path)

    def walk_item(self, it, modpath, alias=None):
        (kind, inner), = it["inner"].items()
        if kind == "use":
            target = inner.get("id")
            tgt = self.index.get(str(target)) if target is not None else None
            if inner.get("is_glob"):
                if tgt is not None and "module" in tgt["inner"]:
                    self.walk_module(tgt["id"], modpath)
                elif tgt is not None and "enum" in tgt["inner"]:
                    for v in tgt["inner"]["enum"]["variants"]:
                        self.add(modpath + "::" + self.index[str(v)]["name"],
                                 "pub use " + inner["source"] + "::*")
                else:
                    self.add(modpath, "pub use " + inner["source"] + "::*")
                return
            name = inner["name"]
            if tgt is not None:
                self.walk_item(tgt, modpath, alias=name)
            else:
                self.add(modpath + "::" + name,
                         "pub use " + modpath + "::" + name + " = " + inner["source"])
            return
        name = alias or it["name"]
        path = modpath + "::" + name
        if kind == "module":
            self.add(path, "pub mod " + path)
            self.walk_module(it["id"], path)
            return
        if kind in ITEM_KINDS:
            self.item_paths.setdefault(it["id"], []).append(path)
        attrs = self.attrs(it)
        if kind == "struct":
            s = inner
            head = attrs + "pub struct " + path + self.generics(s["generics"])
            sk = s["kind"]
            if sk == "unit":
                self.add(path, head + self.where(s["generics"]))
            elif "tuple" in sk:
                fields = ["_" if f is None else self.ty(self.index[str(f)]["inner"]["struct_field"])
                          for f in sk["tuple"]]
                self.add(path, head + "(" + ", ".join(fields) + ")" + self.where(s["generics"]))
            else:
                self.add(path, head + self.where(s["generics"]))
                self.fields(sk["plain"]["fields"], path)
            self.impls(s.get("impls", []), path, it["id"])
        elif kind == "union":
            self.add(path, attrs + "pub union " + path + self.generics(inner["generics"])
                     + self.where(inner["generics"]))
            self.fields(inner.get("fields", []), path)
            self.impls(inner.get("impls", []), path, it["id"])
        elif kind == "enum":
            self.add(path, attrs + "pub enum " + path + self.generics(inner["generics"])
                     + self.where(inner["generics"]))
            for vid in inner["variants"]:
                v = self.index[str(vid)]
                vk = v["inner"]["variant"]["kind"]
                vpath = path + "::" + v["name"]
                va = self.attrs(v)
                if vk == "plain":
                    self.add(vpath, va + "pub " + path + "::" + v["name"])
                elif "tuple" in vk:
                    fields = ["_" if f is None else self.ty(self.index[str(f)]["inner"]["struct_field"])
                              for f in vk["tuple"]]
                    self.add(vpath, va + "pub " + vpath + "(" + ", ".join(fields) + ")")
                else:
                    self.add(vpath, va + "pub " + vpath)
                    self.fields(vk["struct"]["fields"], vpath)
            self.impls(inner.get("impls", []), path, it["id"])
        elif kind in ("trait", "trait_alias"):
            t = inner
            head = ("pub " + ("unsafe " if t.get("is_unsafe") else "") + "trait " + path
                    + self.generics(t.get("generics")))
            if t.get("bounds"):
                head += ": " + self.bounds(t["bounds"])
            self.add(path, head + self.where(t.get("generics")))
            count = 0
            for aid in t.get("items", []):
                a = self.index[str(aid)]
                count += self.assoc(a, path, in_trait=True)
            self.methods.setdefault(it["id"], count)
        elif kind == "function":
            self.add(path, self.function(it, path))
        elif kind == "type_alias":
            self.add(path, "pub type " + path + self.generics(inner["generics"])
                     + self.where(inner["generics"]) + " = " + self.ty(inner["type"]))
        elif kind == "constant":
            self.add(path, "pub const " + path + ": " + self.ty(inner["type"]))
        elif kind == "static":
            mut = "mut " if inner.get("is_mutable", inner.get("mutable")) else ""
            self.add(path, "pub static " + mut + path + ": " + self.ty(inner["type"]))
        elif kind in ("macro", "proc_macro"):
            self.add(path, "pub macro " + path + "!")
        else:
            self.add(path, "pub " + kind + " " + path)

    def fields(self, ids, path):
        for fid in ids:
            f = self.index.get(str(fid))
            if f is None or f.get("visibility") != "public":
                continue
            self.add(path + "::" + f["name"],
                     "pub " + path + "::" + f["name"] + ": " + self.ty(f["inner"]["struct_field"]))

    def assoc(self, a, path, in_trait):
        """Render an associated item; returns 1 when it is a method."""
        (k, v), = a["inner"].items()
        apath = path + "::" + a["name"]
        if k == "function":
            self.add(apath, self.function(a, apath))
            return 1
        if k == "assoc_const":
            self.add(apath, "pub const " + apath + ": " + self.ty(v["type"]))
        elif k == "assoc_type":
            s = "pub type " + apath + self.generics(v.get("generics"))
            if v.get("bounds"):
                s += ": " + self.bounds(v["bounds"])
            if v.get("type") is not None:
                s += " = " + self.ty(v["type"])
            self.add(apath, s)
        return 0

    def impls(self, ids, path, item_id):
        count = 0
        for iid in ids:
            im = self.index.get(str(iid))
            if im is None:
                continue
            i = im["inner"]["impl"]
            if i.get("blanket_impl") is not None:
                continue
            if i.get("trait") is None:
                self.add(path, "impl" + self.generics(i["generics"]) + " " + self.ty(i["for"])
                         + self.where(i["generics"]))
                for aid in i["items"]:
                    a = self.index.get(str(aid))
                    if a is None or a.get("visibility") != "public":
                        continue
                    count += self.assoc(a, path, in_trait=False)
            elif self.name_of(i["trait"].get("id"), i["trait"].get("path")) not in UNSTABLE_AUTO:
                neg = "!" if i.get("is_negative") else ""
                text = ("impl" + self.generics(i["generics"]) + " " + neg + self.path(i["trait"])
                        + " for " + self.ty(i["for"]) + self.where(i["generics"]))
                self.add(path, text)
        self.methods[item_id] = self.methods.get(item_id, 0) + count

    # ---- output ------------------------------------------------------------------------

    def render(self):
        root = self.doc["root"]
        self.walk_module(root, self.crate)
        # Each item counts once, in the module of its deepest public path.
        per_module = {}
        for iid, paths in self.item_paths.items():
            best = sorted(paths, key=lambda p: (-p.count("::"), p))[0]
            mod = best.rsplit("::", 1)[0]
            items, methods = per_module.get(mod, (0, 0))
            per_module[mod] = (items + 1, methods + self.methods.get(iid, 0))
        out = []
        version = self.doc.get("crate_version") or ""
        out.append(f"# {self.crate} {version}: public API with all features (ci/public-api --bless rewrites this file)")
        out.append("# items: structs, enums, traits, functions, type aliases, constants, macros (each once,")
        out.append("# in the module of its deepest public path); methods: inherent and trait-declared functions")
        width = max([len(m) for m in per_module] + [len("total")])
        out.append(f"# {'module'.ljust(width)}  items  methods")
        ti = tm = 0
        for mod in sorted(per_module):
            i, m = per_module[mod]
            ti += i
            tm += m
            out.append(f"# {mod.ljust(width)}  {i:5}  {m:7}")
        out.append(f"# {'total'.ljust(width)}  {ti:5}  {tm:7}")
        out.append("")
        # An item's declaration, then its trait impls, then its members.
        for _, _, text in sorted((p, t.startswith("impl"), t) for p, t in self.lines):
            out.append(text)
        return "\n".join(out) + "\n"


def main():
    doc = json.load(open(sys.argv[1]))
    fmt = doc.get("format_version")
    if fmt not in KNOWN_FORMATS:
        print(f"public_api.py: rustdoc JSON format {fmt} is untested (known: {sorted(KNOWN_FORMATS)})",
              file=sys.stderr)
    sys.stdout.write(Api(doc).render())


if __name__ == "__main__":
    main()
