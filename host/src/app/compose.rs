//! Satisfying `[component.X.dependencies]` by composing components at load time with `wac-graph`, as Spin's
//! `crates/compose` does:
//!
//! - a dependency name is a whole package (`mfa:core`, `mfa:core@0.1.0`: every import of that package, at exactly
//!   that version when one is given), one interface (`mfa:core/otp`, `mfa:core/otp@0.1.0`), or a plain kebab
//!   name matching a plain import; an import matched by two names is a conflict, a name matching no import an
//!   error;
//! - each dependency entry is one instance, shared by all the imports its name matches; an import is satisfied by
//!   the dependency's export of the same name, or by `export` when given (only for one-interface names), after a
//!   subtype check;
//! - the composed component exports what the component exported; what the component and its dependencies still
//!   import (WASI, Spin interfaces) is merged into the composed component's imports, served by the host.
//!
//! Capabilities: Spin hands a dependency that does not inherit configuration a "deny" adapter for every
//! capability interface (outbound network, storage, variables, AI, environment, files). mfa-host instead REFUSES
//! at load time a non-inheriting dependency that imports a network, storage, variables or AI interface
//! ([`denied_capability`]), naming the import. Environment and files need no refusal: mfa-host gives no
//! component an environment or files (it refuses the `environment` and `files` manifest keys), so a dependency
//! importing `wasi:cli/environment` or `wasi:filesystem/preopens` gets an empty environment and no directories,
//! which is exactly what Spin's deny adapter returns. A dependency that inherits configuration shares the
//! component's capabilities.

use std::collections::{BTreeMap, HashSet};

use anyhow::Context;
use wac_graph::types::{ItemKind, Package, SubtypeChecker, Types};
use wac_graph::{CompositionGraph, EncodeOptions, NodeId};

use crate::app::manifest::{Component, DependencySource, Manifest};

/// One dependency to plug in.
#[derive(Debug)]
pub struct DependencyInput {
    /// The manifest's dependency name (`mfa:core`, `mfa:core/otp@0.1.0`, ...).
    pub name: String,
    /// The dependency component's bytes.
    pub bytes: Vec<u8>,
    /// The export to use instead of the import's own name.
    pub export: Option<String>,
    /// Whether it shares the component's capabilities.
    pub inherit_configuration: bool,
}

/// Why a composition failed.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// A dependency name that cannot be parsed.
    #[error("dependency {name:?}: not a package name (`ns:pkg[/interface][@version]`) or a plain kebab name")]
    BadName {
        /// The name.
        name: String,
    },
    /// A component that cannot be read as a component.
    #[error("{what}: {reason}")]
    Unreadable {
        /// Which component.
        what: String,
        /// Why.
        reason: String,
    },
    /// `export` on a whole-package name, which stands for several imports.
    #[error("dependency {name:?}: `export` needs a name of one interface (`ns:pkg/interface`), not a whole package")]
    ExportForPackage {
        /// The dependency name.
        name: String,
    },
    /// A dependency whose name matches no import.
    #[error("dependency {name:?} does not match any import of the component")]
    Unmatched {
        /// The dependency name.
        name: String,
    },
    /// An import matched by more than one dependency.
    #[error("import {import:?} is satisfied by more than one dependency: {names:?}")]
    Conflict {
        /// The import.
        import: String,
        /// The dependency names matching it.
        names: Vec<String>,
    },
    /// A dependency importing a capability it does not inherit.
    #[error(
        "dependency {name:?} imports {import:?}, a capability it does not inherit: set `inherit_configuration = \
         true` on it (or `dependencies_inherit_configuration = true` on the component) to share the component's \
         capabilities, or use a dependency that does not need it"
    )]
    Capability {
        /// The dependency name.
        name: String,
        /// The capability import.
        import: String,
    },
    /// A dependency without the export an import needs.
    #[error("dependency {name:?} does not export {export:?} to satisfy import {import:?}")]
    MissingExport {
        /// The dependency name.
        name: String,
        /// The export looked for.
        export: String,
        /// The import.
        import: String,
    },
    /// An export whose type does not fit the import.
    #[error("dependency {name:?} exports {export:?}, which is not compatible with import {import:?}: {reason}")]
    Incompatible {
        /// The dependency name.
        name: String,
        /// The export.
        export: String,
        /// The import.
        import: String,
        /// The type checker's explanation.
        reason: String,
    },
    /// The graph could not be built or encoded.
    #[error("composing: {0}")]
    Graph(String),
}

/// A parsed dependency or import name.
#[derive(Debug, PartialEq, Eq)]
enum Name<'a> {
    /// A plain kebab-case name.
    Plain(&'a str),
    /// `ns:pkg[/interface][@version]`.
    Package { package: &'a str, interface: Option<&'a str>, version: Option<&'a str> },
}

fn is_kebab(text: &str) -> bool {
    !text.is_empty()
        && text.split('-').all(|word| {
            !word.is_empty()
                && word.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                && word.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        })
}

fn parse_name(name: &str) -> Option<Name<'_>> {
    if !name.contains(':') {
        return is_kebab(name).then_some(Name::Plain(name));
    }
    let (rest, version) = match name.split_once('@') {
        Some((rest, version)) if !version.is_empty() => (rest, Some(version)),
        Some(_) => return None,
        None => (name, None),
    };
    let (package, interface) = match rest.split_once('/') {
        Some((package, interface)) => (package, Some(interface)),
        None => (rest, None),
    };
    let (namespace, package_name) = package.split_once(':')?;
    let valid = is_kebab(namespace) && is_kebab(package_name) && interface.is_none_or(is_kebab);
    valid.then_some(Name::Package { package, interface, version })
}

/// Whether dependency name `dependency` covers import `import` (Spin's rule: same package, same interface if the
/// name has one, the exact version if the name has one).
fn matches(dependency: &Name<'_>, import: &str) -> bool {
    match (dependency, parse_name(import)) {
        (Name::Plain(a), Some(Name::Plain(b))) => *a == b,
        (
            Name::Package { package, interface, version },
            Some(Name::Package { package: import_package, interface: import_interface, version: import_version }),
        ) => {
            *package == import_package
                && interface.is_none_or(|i| Some(i) == import_interface)
                && version.is_none_or(|v| Some(v) == import_version)
        }
        _ => false,
    }
}

/// Capability interfaces (package/interface, any version) a dependency may import only when it inherits the
/// component's configuration: outbound network, storage, variables and AI, as Spin's capability sets list them.
const CAPABILITY_INTERFACES: &[&str] = &[
    "wasi:http/outgoing-handler",
    "wasi:http/client",
    "wasi:sockets/ip-name-lookup",
    "wasi:sockets/tcp",
    "wasi:sockets/tcp-create-socket",
    "wasi:sockets/udp",
    "wasi:sockets/udp-create-socket",
    "wasi:keyvalue/store",
    "wasi:config/store",
    "fermyon:spin/http",
    "fermyon:spin/redis",
    "fermyon:spin/postgres",
    "fermyon:spin/mysql",
    "fermyon:spin/mqtt",
    "fermyon:spin/sqlite",
    "fermyon:spin/key-value",
    "fermyon:spin/config",
    "fermyon:spin/variables",
    "fermyon:spin/llm",
    "spin:postgres/postgres",
    "spin:mysql/mysql",
    "spin:redis/redis",
    "spin:mqtt/mqtt",
    "spin:sqlite/sqlite",
    "spin:key-value/key-value",
    "spin:variables/variables",
];

/// The capability `import` needs, if it is one a non-inheriting dependency may not have.
pub fn denied_capability(import: &str) -> bool {
    let unversioned = import.split_once('@').map_or(import, |(name, _)| name);
    CAPABILITY_INTERFACES.contains(&unversioned)
}

fn world_items(types: &Types, package: &Package) -> (Vec<(String, ItemKind)>, BTreeMap<String, ItemKind>) {
    let world = &types[package.ty()];
    let imports = world.imports.iter().map(|(name, kind)| (name.clone(), *kind)).collect();
    let exports = world.exports.iter().map(|(name, kind)| (name.clone(), *kind)).collect();
    (imports, exports)
}

fn graph_error(error: impl std::fmt::Display) -> ComposeError {
    ComposeError::Graph(format!("{error:#}"))
}

/// Composes `component` (bytes of the component named `id`) with `dependencies`.
pub fn compose(id: &str, component: Vec<u8>, dependencies: Vec<DependencyInput>) -> Result<Vec<u8>, ComposeError> {
    let mut graph = CompositionGraph::new();
    let root = Package::from_bytes("mfa-host:component", None, component, graph.types_mut())
        .map_err(|e| ComposeError::Unreadable { what: format!("component {id:?}"), reason: format!("{e:#}") })?;
    let (root_imports, root_exports) = world_items(graph.types(), &root);
    let root_package = graph.register_package(root).map_err(graph_error)?;
    let root_instance = graph.instantiate(root_package);

    // Which dependency satisfies which import.
    let mut satisfied_by: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (index, dependency) in dependencies.iter().enumerate() {
        let name =
            parse_name(&dependency.name).ok_or_else(|| ComposeError::BadName { name: dependency.name.clone() })?;
        if matches!(name, Name::Package { interface: None, .. }) && dependency.export.is_some() {
            return Err(ComposeError::ExportForPackage { name: dependency.name.clone() });
        }
        let mut any = false;
        for (import, _) in &root_imports {
            if matches(&name, import) {
                satisfied_by.entry(import.as_str()).or_default().push(index);
                any = true;
            }
        }
        if !any {
            return Err(ComposeError::Unmatched { name: dependency.name.clone() });
        }
    }
    if let Some((import, indexes)) = satisfied_by.iter().find(|(_, indexes)| indexes.len() > 1) {
        return Err(ComposeError::Conflict {
            import: (*import).to_owned(),
            names: indexes.iter().filter_map(|&i| dependencies.get(i)).map(|d| d.name.clone()).collect(),
        });
    }

    let mut instances: BTreeMap<usize, (NodeId, BTreeMap<String, ItemKind>)> = BTreeMap::new();
    for (index, dependency) in dependencies.into_iter().enumerate() {
        let package =
            Package::from_bytes(&format!("mfa-host:dependency{index}"), None, dependency.bytes, graph.types_mut())
                .map_err(|e| ComposeError::Unreadable {
                    what: format!("dependency {:?}", dependency.name),
                    reason: format!("{e:#}"),
                })?;
        let (imports, exports) = world_items(graph.types(), &package);
        if !dependency.inherit_configuration
            && let Some((import, _)) = imports.iter().find(|(import, _)| denied_capability(import))
        {
            return Err(ComposeError::Capability { name: dependency.name, import: import.clone() });
        }
        let package = graph.register_package(package).map_err(graph_error)?;
        instances.insert(index, (graph.instantiate(package), exports));
        for (import, indexes) in &satisfied_by {
            if indexes.first() != Some(&index) {
                continue;
            }
            let (instance, exports) = instances.get(&index).ok_or_else(|| graph_error("lost an instance"))?;
            let export = dependency.export.clone().unwrap_or_else(|| (*import).to_owned());
            let missing = || ComposeError::MissingExport {
                name: dependency.name.clone(),
                export: export.clone(),
                import: (*import).to_owned(),
            };
            let export_kind = *exports.get(&export).ok_or_else(missing)?;
            let import_kind =
                root_imports.iter().find(|(name, _)| name == import).map(|(_, kind)| *kind).ok_or_else(missing)?;
            let mut cache = HashSet::new();
            SubtypeChecker::new(&mut cache)
                .is_subtype(export_kind, graph.types(), import_kind, graph.types())
                .map_err(|e| ComposeError::Incompatible {
                    name: dependency.name.clone(),
                    export: export.clone(),
                    import: (*import).to_owned(),
                    reason: format!("{e:#}"),
                })?;
            let alias = graph.alias_instance_export(*instance, &export).map_err(graph_error)?;
            graph.set_instantiation_argument(root_instance, import, alias).map_err(graph_error)?;
        }
    }

    for export in root_exports.keys() {
        let alias = graph.alias_instance_export(root_instance, export).map_err(graph_error)?;
        graph.export(alias, export.clone()).map_err(graph_error)?;
    }
    graph.encode(EncodeOptions::default()).map_err(graph_error)
}

/// Reads `component` and its dependencies from beside `manifest` and composes them. A `{ component = "id" }`
/// dependency must be another component of the app with no capabilities of its own, as Spin requires.
pub fn load_composed(manifest: &Manifest, component: &Component) -> anyhow::Result<Vec<u8>> {
    let id = &component.id;
    let read = |path: &std::path::Path, what: &str| {
        let path = manifest.dir.join(path);
        std::fs::read(&path).with_context(|| format!("{what}: cannot load {}", path.display()))
    };
    let bytes = read(&component.source, &format!("component.{id}.source"))?;
    let mut inputs = Vec::new();
    for (name, dependency) in &component.dependencies {
        let key = format!("component.{id}.dependencies.{name:?}");
        let source = match &dependency.source {
            DependencySource::Path(path) => path.clone(),
            DependencySource::Component(other) => {
                let target = manifest
                    .components
                    .get(other)
                    .with_context(|| format!("{key}: there is no component {other:?}"))?;
                let has_capabilities = !target.allowed_outbound_hosts.is_empty()
                    || !target.sqlite_databases.is_empty()
                    || !target.variables.is_empty()
                    || !target.dependencies.is_empty();
                anyhow::ensure!(
                    !has_capabilities,
                    "{key}: component {other:?} may not be a dependency: it has outbound hosts, databases, variables \
                     or dependencies of its own"
                );
                target.source.clone()
            }
        };
        inputs.push(DependencyInput {
            name: name.clone(),
            bytes: read(&source, &key)?,
            export: dependency.export.clone(),
            inherit_configuration: component.dependencies_inherit_configuration || dependency.inherit_configuration,
        });
    }
    compose(id, bytes, inputs).with_context(|| format!("component.{id}.dependencies"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_as_spin_reads_them() {
        assert_eq!(parse_name("greeter"), Some(Name::Plain("greeter")));
        assert_eq!(
            parse_name("mfa:core/otp@0.1.0"),
            Some(Name::Package { package: "mfa:core", interface: Some("otp"), version: Some("0.1.0") })
        );
        assert_eq!(parse_name("mfa:core"), Some(Name::Package { package: "mfa:core", interface: None, version: None }));
        for bad in ["", "Bad", "a:", ":b", "a:b/", "a:b@", "a:b/C", "two words", "a--b"] {
            assert_eq!(parse_name(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn matching_follows_package_interface_and_exact_version() {
        let name = |text| parse_name(text).unwrap();
        assert!(matches(&name("mfa:core"), "mfa:core/otp@0.1.0"));
        assert!(matches(&name("mfa:core@0.1.0"), "mfa:core/qr@0.1.0"));
        assert!(!matches(&name("mfa:core@0.1.0"), "mfa:core/qr@0.1.1"));
        assert!(!matches(&name("mfa:core@0.1.0"), "mfa:core/qr"));
        assert!(matches(&name("mfa:core/otp"), "mfa:core/otp@0.1.0"));
        assert!(!matches(&name("mfa:core/otp"), "mfa:core/qr@0.1.0"));
        assert!(!matches(&name("mfa:core"), "mfa:session/tokens@0.1.0"));
        assert!(matches(&name("greeter"), "greeter"));
        assert!(!matches(&name("greeter"), "mfa:greeter/x"));
    }

    #[test]
    fn capabilities_are_recognised_at_any_version() {
        assert!(denied_capability("fermyon:spin/variables@2.0.0"));
        assert!(denied_capability("wasi:http/outgoing-handler@0.2.6"));
        assert!(denied_capability("spin:postgres/postgres@4.0.0"));
        assert!(denied_capability("wasi:sockets/tcp@0.2.0"));
        // Served with nothing by mfa-host, as Spin's deny adapter does; plain computation interfaces pass.
        assert!(!denied_capability("wasi:cli/environment@0.2.6"));
        assert!(!denied_capability("wasi:filesystem/preopens@0.2.6"));
        assert!(!denied_capability("wasi:random/random@0.2.6"));
        assert!(!denied_capability("wasi:http/types@0.2.6"));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let error = compose("api", b"not wasm".to_vec(), Vec::new()).unwrap_err();
        assert!(error.to_string().starts_with("component \"api\": "), "{error}");
    }
}
