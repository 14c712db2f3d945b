//! The layer order of `perf-runtime/src` (see docs/src/architecture.md): every
//! `crate::…` / `super::…` path in a file may name only its own layer or
//! the layers before it, no file may hold more than 600 lines, and no
//! import cycle may join files of different layers.
//!
//! Paths are read with `syn` from the parsed source (uses, types,
//! expressions, `impl` headers, attributes' `with = "…"` are not paths and
//! are not seen), so comments and strings never count. A `#[cfg(test)]`
//! module is skipped: unit tests may reach anything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// The layers, in order: a file in one may import from itself and the
/// ones before it. The crate's top-level files (`lib.rs`, `private.rs`,
/// the pipeline) form the last layer.
const LAYERS: [&str; 9] = [
    "model",
    "measure",
    "run",
    "judge",
    "output",
    "io",
    "distributed",
    "http",
    "aws",
];
const TOP: usize = LAYERS.len();
const MAX_LINES: usize = 600;

/// A file's layer: its first folder, or the top for top-level files.
fn layer_of_file(rel: &Path) -> Result<usize, String> {
    let mut parts = rel.components();
    let first = parts.next().unwrap().as_os_str().to_str().unwrap();
    if parts.next().is_none() {
        return Ok(TOP);
    }
    LAYERS
        .iter()
        .position(|l| *l == first)
        .ok_or_else(|| format!("folder `{first}` is not a layer (layers: {LAYERS:?})"))
}

fn layer_name(l: usize) -> &'static str {
    LAYERS.get(l).copied().unwrap_or("top level")
}

/// One `crate::` path found in a file, resolved to module segments.
struct Found {
    line: usize,
    segments: Vec<String>,
}

struct Paths {
    /// The file's own module path, for `self`/`super`.
    module: Vec<String>,
    found: Vec<Found>,
}

impl Paths {
    fn add(&mut self, line: usize, raw: Vec<String>) {
        // `pub(crate)` is a visibility, not an import.
        if raw.len() < 2 {
            return;
        }
        let first = &raw[0];
        let segments = match first.as_str() {
            "crate" => raw[1..].to_vec(),
            "super" | "self" => {
                let mut base = self.module.clone();
                let mut rest = &raw[..];
                while let Some(s) = rest.first() {
                    match s.as_str() {
                        "super" => {
                            base.pop();
                        }
                        "self" => {}
                        _ => break,
                    }
                    rest = &rest[1..];
                }
                base.extend(rest.iter().cloned());
                base
            }
            _ => return,
        };
        self.found.push(Found { line, segments });
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree, line: usize) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree, line);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let mut full = prefix.clone();
                if n.ident != "self" {
                    full.push(n.ident.to_string());
                }
                self.add(line, full);
            }
            syn::UseTree::Rename(r) => {
                let mut full = prefix.clone();
                if r.ident != "self" {
                    full.push(r.ident.to_string());
                }
                self.add(line, full);
            }
            syn::UseTree::Glob(_) => self.add(line, prefix.clone()),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t, line);
                }
            }
        }
    }
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.meta
                .require_list()
                .is_ok_and(|l| l.tokens.to_string().split_whitespace().any(|t| t == "test"))
    })
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if is_cfg_test(&m.attrs) {
            return;
        }
        self.module.push(m.ident.to_string());
        syn::visit::visit_item_mod(self, m);
        self.module.pop();
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        if is_cfg_test(&u.attrs) {
            return;
        }
        let line = u.use_token.span.start().line;
        self.use_tree(&mut Vec::new(), &u.tree, line);
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        if let Some(first) = p.segments.first() {
            let line = first.ident.span().start().line;
            self.add(
                line,
                p.segments.iter().map(|s| s.ident.to_string()).collect(),
            );
        }
        syn::visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        // Paths inside macro calls (`format!`, `matches!`): read them as
        // token runs `crate :: a :: b`.
        let tokens: Vec<proc_macro2::TokenTree> = m.tokens.clone().into_iter().collect();
        scan_tokens(self, &tokens);
        syn::visit::visit_macro(self, m);
    }
}

fn scan_tokens(paths: &mut Paths, tokens: &[proc_macro2::TokenTree]) {
    use proc_macro2::TokenTree;
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            TokenTree::Group(g) => {
                let inner: Vec<TokenTree> = g.stream().into_iter().collect();
                scan_tokens(paths, &inner);
            }
            TokenTree::Ident(id) if id == "crate" => {
                let line = id.span().start().line;
                let mut raw = vec!["crate".to_owned()];
                let mut j = i + 1;
                while j + 2 < tokens.len() + 1 {
                    let (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b))) =
                        (tokens.get(j), tokens.get(j + 1))
                    else {
                        break;
                    };
                    if a.as_char() != ':' || b.as_char() != ':' {
                        break;
                    }
                    let Some(TokenTree::Ident(next)) = tokens.get(j + 2) else {
                        break;
                    };
                    raw.push(next.to_string());
                    j += 3;
                }
                paths.add(line, raw);
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
}

/// The crate's module tree: module path → file.
struct Tree {
    files: BTreeMap<Vec<String>, PathBuf>,
    /// Names the crate root re-exports (`pub use model::report::Report;`),
    /// with the module they come from.
    root_uses: BTreeMap<String, Vec<String>>,
}

fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_str().unwrap().to_owned())
        .collect();
    if parts.last().is_some_and(|l| l == "mod" || l == "lib") {
        parts.pop();
    }
    parts
}

/// The file a path lands in: the longest module prefix that is a file.
fn resolve(tree: &Tree, segments: &[String]) -> Option<(Vec<String>, PathBuf)> {
    let mut segs = segments.to_vec();
    if let Some(first) = segs.first() {
        if !tree.files.keys().any(|m| m.first() == Some(first)) {
            if let Some(origin) = tree.root_uses.get(first) {
                segs = origin.clone();
            }
        }
    }
    for n in (0..=segs.len()).rev() {
        if let Some(file) = tree.files.get(&segs[..n]) {
            return Some((segs[..n].to_vec(), file.clone()));
        }
    }
    None
}

#[derive(Debug)]
struct Violation {
    file: PathBuf,
    line: usize,
    message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

/// Checks the sources (relative path → text) and returns every violation.
fn check(sources: &BTreeMap<PathBuf, String>) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut parsed = BTreeMap::new();
    for (rel, text) in sources {
        let lines = text.lines().count();
        if lines > MAX_LINES {
            out.push(Violation {
                file: rel.clone(),
                line: 1,
                message: format!("{lines} lines, over the {MAX_LINES}-line limit"),
            });
        }
        match syn::parse_file(text) {
            Ok(f) => {
                parsed.insert(rel.clone(), f);
            }
            Err(e) => out.push(Violation {
                file: rel.clone(),
                line: e.span().start().line,
                message: format!("does not parse: {e}"),
            }),
        }
    }
    let mut tree = Tree {
        files: sources
            .keys()
            .map(|rel| (module_of(rel), rel.clone()))
            .collect(),
        root_uses: BTreeMap::new(),
    };
    // `#[path = "x.rs"] mod y;` in the root: module y is file x.rs.
    if let Some(root) = parsed.get(Path::new("lib.rs")) {
        for item in &root.items {
            match item {
                syn::Item::Mod(m) => {
                    for a in &m.attrs {
                        if let syn::Meta::NameValue(nv) = &a.meta {
                            if nv.path.is_ident("path") {
                                if let syn::Expr::Lit(syn::ExprLit {
                                    lit: syn::Lit::Str(s),
                                    ..
                                }) = &nv.value
                                {
                                    let file = PathBuf::from(s.value());
                                    tree.files.remove(&module_of(&file));
                                    tree.files.insert(vec![m.ident.to_string()], file);
                                }
                            }
                        }
                    }
                }
                syn::Item::Use(u) => {
                    collect_plain_uses(&mut tree.root_uses, &mut Vec::new(), &u.tree);
                }
                _ => {}
            }
        }
    }

    let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for (rel, file) in &parsed {
        let from = match layer_of_file(rel) {
            Ok(l) => l,
            Err(message) => {
                out.push(Violation {
                    file: rel.clone(),
                    line: 1,
                    message,
                });
                continue;
            }
        };
        let mut paths = Paths {
            module: module_of(rel),
            found: Vec::new(),
        };
        paths.visit_file(file);
        for found in paths.found {
            let Some((module, target)) = resolve(&tree, &found.segments) else {
                continue;
            };
            if &target == rel || module.is_empty() && target == Path::new("lib.rs") {
                if module.is_empty() && from != TOP {
                    out.push(Violation {
                        file: rel.clone(),
                        line: found.line,
                        message: format!(
                            "`crate::{}` is defined at the top level, which a {} file may not import",
                            found.segments.join("::"),
                            layer_name(from)
                        ),
                    });
                }
                continue;
            }
            let to = layer_of_file(&target).unwrap_or(TOP);
            if to > from {
                out.push(Violation {
                    file: rel.clone(),
                    line: found.line,
                    message: format!(
                        "`crate::{}` ({}, layer {}) is imported by a {} file (layer {}): imports go from later layers to earlier ones only",
                        found.segments.join("::"),
                        target.display(),
                        layer_name(to),
                        layer_name(from),
                        layer_name(from),
                    ),
                });
            }
            edges.entry(rel.clone()).or_default().insert(target);
        }
    }

    for cycle in cycles(&edges) {
        let layers: BTreeSet<usize> = cycle
            .iter()
            .map(|f| layer_of_file(f).unwrap_or(TOP))
            .collect();
        if layers.len() > 1 {
            out.push(Violation {
                file: cycle[0].clone(),
                line: 1,
                message: format!(
                    "import cycle across layers: each of these files reaches the others through its imports: {}",
                    cycle
                        .iter()
                        .map(|f| f.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
    }
    out
}

/// `pub use a::b::{C, D as E};` → C ↦ a::b::C, E ↦ a::b::D.
fn collect_plain_uses(
    into: &mut BTreeMap<String, Vec<String>>,
    prefix: &mut Vec<String>,
    tree: &syn::UseTree,
) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            collect_plain_uses(into, prefix, &p.tree);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let mut full: Vec<String> = prefix
                .iter()
                .filter(|s| *s != "crate" && *s != "self")
                .cloned()
                .collect();
            full.push(n.ident.to_string());
            into.insert(n.ident.to_string(), full);
        }
        syn::UseTree::Rename(r) => {
            let mut full: Vec<String> = prefix
                .iter()
                .filter(|s| *s != "crate" && *s != "self")
                .cloned()
                .collect();
            full.push(r.ident.to_string());
            into.insert(r.rename.to_string(), full);
        }
        syn::UseTree::Group(g) => {
            for t in &g.items {
                collect_plain_uses(into, prefix, t);
            }
        }
        syn::UseTree::Glob(_) => {}
    }
}

/// Strongly connected components with more than one file (Tarjan).
fn cycles(edges: &BTreeMap<PathBuf, BTreeSet<PathBuf>>) -> Vec<Vec<PathBuf>> {
    struct State<'a> {
        edges: &'a BTreeMap<PathBuf, BTreeSet<PathBuf>>,
        index: BTreeMap<&'a PathBuf, usize>,
        low: BTreeMap<&'a PathBuf, usize>,
        stack: Vec<&'a PathBuf>,
        on_stack: BTreeSet<&'a PathBuf>,
        next: usize,
        out: Vec<Vec<PathBuf>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a PathBuf) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        if let Some(next) = s.edges.get(v) {
            for w in next {
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let lw = s.low[w];
                    let lv = s.low.get_mut(v).unwrap();
                    *lv = (*lv).min(lw);
                } else if s.on_stack.contains(w) {
                    let iw = s.index[w];
                    let lv = s.low.get_mut(v).unwrap();
                    *lv = (*lv).min(iw);
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.clone());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.reverse();
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out
}

fn sources() -> BTreeMap<PathBuf, String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(&src).unwrap().to_owned();
                out.insert(rel, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    out
}

#[test]
fn imports_follow_the_layer_order() {
    let violations = check(&sources());
    assert!(
        violations.is_empty(),
        "perf-runtime/src breaks its layer order (model → measure → run → judge → output → io → distributed → http → aws → top level):\n{}",
        violations
            .iter()
            .map(|v| format!("  {v}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The check can fail: an adapter imported by a model file, a cycle
/// between layers, a file too long, and a folder that is no layer.
#[test]
fn the_check_names_file_and_line_of_what_breaks_it() {
    let real = sources();
    let model_file = real
        .keys()
        .find(|p| p.starts_with("model") && p.file_name().unwrap() != "mod.rs")
        .expect("a model file")
        .clone();

    let mut upward = real.clone();
    let text = upward.get_mut(&model_file).unwrap();
    let line = text.lines().count() + 1;
    text.push_str("use crate::aws::s3;\n");
    let found = check(&upward);
    assert!(
        found.iter().any(|v| v.file == model_file
            && v.line == line
            && v.message.contains("crate::aws::s3")
            && v.message.contains("layer aws")),
        "{model_file:?}:{line} not named: {found:?}"
    );

    let mut synthetic = BTreeMap::new();
    synthetic.insert(PathBuf::from("lib.rs"), "mod model; mod judge;".to_owned());
    synthetic.insert(
        PathBuf::from("model/mod.rs"),
        "pub mod a;\npub fn h() {}\nfn f() { let _ = crate::judge::b::g(); }\n".to_owned(),
    );
    synthetic.insert(PathBuf::from("model/a.rs"), "pub fn h() {}".to_owned());
    synthetic.insert(PathBuf::from("judge/mod.rs"), "pub mod b;".to_owned());
    synthetic.insert(
        PathBuf::from("judge/b.rs"),
        "use crate::model::h;\npub fn g() { h() }\n".to_owned(),
    );
    synthetic.insert(PathBuf::from("engine/x.rs"), "fn f() {}\n".to_owned());
    synthetic.insert(
        PathBuf::from("judge/long.rs"),
        "fn f() {}\n".repeat(MAX_LINES + 1),
    );
    let found: Vec<String> = check(&synthetic).iter().map(|v| v.to_string()).collect();
    let has = |needle: &str| found.iter().any(|v| v.contains(needle));
    assert!(has("model/mod.rs:3: `crate::judge::b::g`"), "{found:#?}");
    assert!(has("import cycle across layers"), "{found:#?}");
    assert!(
        has("engine/x.rs:1: folder `engine` is not a layer"),
        "{found:#?}"
    );
    assert!(has("judge/long.rs:1: 601 lines"), "{found:#?}");
    assert!(
        !found
            .iter()
            .any(|v| v.starts_with("judge/b.rs") && !v.contains("cycle")),
        "downward import flagged: {found:#?}"
    );
}
