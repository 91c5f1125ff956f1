//! The runtime-config recipes in `deploy/runtime-config/` say what they do: each file meant for mfa-host is read by
//! its own parser ([`RuntimeConfig::load`], as `mfa-host up --runtime-config-file` reads it) and gives the paths and
//! budget its comments promise; each uses only keys Spin 4.0.2 accepts unless its name says it is for mfa-host
//! alone; the Spin-only files (`spin-*.toml`, keys mfa-host refuses) are checked against Spin's keys instead; and
//! `secrets.env.example` names exactly the secret variables of `spin.toml`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use mfa_host::app::manifest::Manifest;
use mfa_host::app::runtime_config::{Location, PostgresBudget, RuntimeConfig};

/// The top-level keys Spin 4.0.2's runtime config accepts; any other is an error ("unused runtime config key(s)",
/// `TomlKeyTracker::validate_all_keys_used` in spinframework/spin `crates/factors/src/runtime_config/toml.rs`).
/// Read from tag v4.0.2:
/// - `state_dir`, `log_dir`, `max_instance_memory`: `crates/runtime-config/src/lib.rs` (`TomlResolver`);
/// - `variables_provider` (and its old name `config_provider`): `crates/runtime-config/src/variables.rs`;
/// - `key_value_store`: `crates/factor-key-value/src/runtime_config/spin.rs`;
/// - `sqlite_database`: `crates/sqlite/src/lib.rs` (`RuntimeConfigResolver::resolve_from_toml`);
/// - `llm_compute`: `crates/factor-llm/src/spin.rs`;
/// - `outbound_networking`, `client_tls`: `crates/factor-outbound-networking/src/runtime_config/spin.rs`;
/// - `outbound_http`: `crates/factor-outbound-http/src/runtime_config/spin.rs`.
const SPIN_TOP_LEVEL_KEYS: [&str; 11] = [
    "state_dir",
    "log_dir",
    "max_instance_memory",
    "variables_provider",
    "config_provider",
    "key_value_store",
    "sqlite_database",
    "llm_compute",
    "outbound_networking",
    "client_tls",
    "outbound_http",
];

/// `[sqlite_database.<label>] type = "spin"` keys in Spin 4.0.2 (`InProcDatabase`, `crates/sqlite/src/lib.rs`,
/// `deny_unknown_fields`), besides `type`.
const SPIN_SQLITE_KEYS: [&str; 2] = ["path", "allow_attach_file"];

/// `[[variables_provider]]` types and their keys besides `type`, in Spin 4.0.2 (`VariableProviderConfiguration`,
/// `crates/runtime-config/src/variables.rs`): each struct is `deny_unknown_fields` except `static`'s.
/// `(type, required keys, optional keys)`.
const SPIN_VARIABLE_PROVIDERS: [(&str, &[&str], &[&str]); 4] = [
    // crates/variables-vault/src/lib.rs, VaultVariablesProvider
    ("vault", &["url", "token", "mount"], &["prefix"]),
    // crates/variables-azure/src/lib.rs, AzureKeyVaultVariablesConfig
    ("azure_key_vault", &["vault_url"], &["client_id", "client_secret", "tenant_id", "authority_host"]),
    // crates/variables-env/src/lib.rs, EnvVariablesConfig
    ("env", &[], &["prefix", "dotenv_path"]),
    // crates/variables-static/src/lib.rs, StaticVariablesProvider
    ("static", &["values"], &[]),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn recipes() -> PathBuf {
    root().join("deploy/runtime-config")
}

/// A file's top-level TOML table.
fn toml_table(path: &Path) -> toml::Table {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{} is not TOML: {e}", path.display()))
}

/// The top-level keys of `table` Spin 4.0.2 would refuse.
fn keys_spin_refuses(table: &toml::Table) -> Vec<String> {
    table.keys().filter(|key| !SPIN_TOP_LEVEL_KEYS.contains(&key.as_str())).cloned().collect()
}

/// Checks the `[sqlite_database.*]` tables against Spin's keys for `type = "spin"`.
fn check_spin_sqlite_tables(name: &str, table: &toml::Table) {
    let Some(databases) = table.get("sqlite_database") else { return };
    for (label, database) in databases.as_table().unwrap_or_else(|| panic!("{name}: sqlite_database is no table")) {
        let database = database.as_table().unwrap_or_else(|| panic!("{name}: sqlite_database.{label} is no table"));
        assert_eq!(database.get("type").and_then(toml::Value::as_str), Some("spin"), "{name}: {label}");
        for key in database.keys().filter(|key| *key != "type") {
            assert!(SPIN_SQLITE_KEYS.contains(&key.as_str()), "{name}: sqlite_database.{label}.{key} is not Spin's");
        }
    }
}

/// Loads a recipe the way `mfa-host up --runtime-config-file` does, from a working directory of `/srv/mfa`.
fn load(name: &str) -> RuntimeConfig {
    RuntimeConfig::load(&recipes().join(name), Path::new("/srv/mfa"))
        .unwrap_or_else(|error| panic!("mfa-host refuses deploy/runtime-config/{name}: {error}"))
}

/// What each recipe must say to mfa-host, by file name (every `*.toml` there must be listed, so a new recipe
/// comes with its assertions).
fn check_for_mfa_host(name: &str, config: &RuntimeConfig) {
    let default_budget = PostgresBudget::default();
    match name {
        "sqlite.toml" => {
            assert_eq!(
                config.sqlite_databases,
                BTreeMap::from([("default".to_owned(), Location::File("/var/lib/mfa-service/mfa.db".into()))])
            );
            assert_eq!(config.postgres, default_budget);
        }
        "redis-postgres.toml" => {
            assert_eq!(config.sqlite_databases.keys().collect::<Vec<_>>(), ["default"]);
            assert!(matches!(config.sqlite_databases["default"], Location::Memory(_)), "{config:?}");
            assert_eq!(config.postgres, default_budget);
        }
        "mfa-host-redis-postgres.toml" => {
            assert_eq!(config.postgres, PostgresBudget { pool_size: 8, wait_timeout: Duration::from_millis(20_000) });
            assert!(matches!(config.sqlite_databases["default"], Location::Memory(_)), "{config:?}");
            assert_eq!(config.sqlite_databases.len(), 1);
        }
        other => panic!("deploy/runtime-config/{other}: no assertions for it in host/tests/host/deploy_examples.rs"),
    }
}

#[test]
fn runtime_config_recipes_are_accepted_and_say_what_they_promise() {
    let mut files: Vec<String> = std::fs::read_dir(recipes())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    let manifest = Manifest::load(&root().join("spin.toml")).unwrap();

    for name in &files {
        let table = toml_table(&recipes().join(name));
        let refused_by_spin = keys_spin_refuses(&table);
        if name.starts_with("spin-") {
            // For Spin only: keys mfa-host refuses, every one of them Spin's.
            assert!(refused_by_spin.is_empty(), "{name}: Spin 4.0.2 refuses {refused_by_spin:?}");
            let Err(error) = RuntimeConfig::load(&recipes().join(name), Path::new("/")) else {
                panic!("{name} is named for Spin only, but mfa-host accepts it: rename it");
            };
            assert!(error.to_string().contains("unknown field"), "{name}: {error}");
            check_spin_sqlite_tables(name, &table);
            check_variables_providers(name, &table);
            continue;
        }
        let config = load(name);
        check_for_mfa_host(name, &config);
        // The project's app finds its database where the recipe puts it.
        let locations = config.sqlite_locations(&manifest).unwrap();
        assert_eq!(locations.get("default"), config.sqlite_databases.get("default"), "{name}");
        if name.starts_with("mfa-host-") {
            // Named for mfa-host alone: it does use a key Spin refuses.
            assert_eq!(refused_by_spin, ["outbound_postgres"], "{name}");
        } else {
            // For both: nothing Spin refuses.
            assert!(refused_by_spin.is_empty(), "{name} is meant for Spin too, which refuses {refused_by_spin:?}");
            check_spin_sqlite_tables(name, &table);
        }
    }
    for expected in ["sqlite.toml", "redis-postgres.toml", "mfa-host-redis-postgres.toml", "spin-variables-vault.toml"]
    {
        assert!(files.iter().any(|name| name == expected), "deploy/runtime-config/{expected} is missing");
    }
}

/// Checks `[[variables_provider]]` entries against Spin 4.0.2's provider types and keys.
fn check_variables_providers(name: &str, table: &toml::Table) {
    let Some(providers) = table.get("variables_provider") else { return };
    let providers = providers.as_array().unwrap_or_else(|| panic!("{name}: variables_provider is not [[...]]"));
    assert!(!providers.is_empty(), "{name}");
    for provider in providers {
        let provider = provider.as_table().unwrap_or_else(|| panic!("{name}: a provider is no table"));
        let kind = provider.get("type").and_then(toml::Value::as_str).unwrap_or_else(|| panic!("{name}: no type"));
        let (_, required, optional) = SPIN_VARIABLE_PROVIDERS
            .iter()
            .find(|(known, _, _)| *known == kind)
            .unwrap_or_else(|| panic!("{name}: Spin 4.0.2 has no variables provider of type {kind:?}"));
        for key in *required {
            assert!(provider.get(*key).is_some_and(toml::Value::is_str), "{name}: {kind} needs {key} (a string)");
        }
        if kind != "static" {
            for key in provider.keys().filter(|key| *key != "type") {
                assert!(
                    required.contains(&key.as_str()) || optional.contains(&key.as_str()),
                    "{name}: a {kind} provider has no key {key:?}"
                );
            }
        }
    }
    // This recipe's own promise: the app's secrets come from Vault, under secret/mfa-service/<name>.
    if name == "spin-variables-vault.toml" {
        let vault = providers.first().and_then(toml::Value::as_table).unwrap();
        assert_eq!(vault["type"].as_str(), Some("vault"));
        assert_eq!(vault["mount"].as_str(), Some("secret"));
        assert_eq!(vault["prefix"].as_str(), Some("mfa-service"));
    }
}

#[test]
fn the_secrets_env_example_names_exactly_the_secret_variables() {
    let manifest = Manifest::load(&root().join("spin.toml")).unwrap();
    let secret: BTreeSet<String> = manifest
        .variables
        .iter()
        .filter(|(_, declaration)| declaration.secret)
        .map(|(name, _)| format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase()))
        .collect();
    assert!(secret.contains("SPIN_VARIABLE_API_KEY"), "{secret:?}");
    let text = std::fs::read_to_string(recipes().join("secrets.env.example")).unwrap();
    let named: BTreeSet<String> = text
        .lines()
        .filter(|line| !line.trim_start().starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (name, value) = line.split_once('=').unwrap_or_else(|| panic!("not NAME=value: {line:?}"));
            assert_eq!(value, "", "secrets.env.example must not hold a value: {line:?}");
            name.to_owned()
        })
        .collect();
    assert_eq!(named, secret, "secrets.env.example against spin.toml's `secret = true` variables");
}
