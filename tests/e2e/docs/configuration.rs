//! `docs/configuration.md` names every variable of `spin.toml` once, with its default as spin.toml declares it
//! (`*empty*` for an empty one) and secrets said to be secret, and nothing spin.toml no longer has.

use std::collections::BTreeMap;

/// `spin.toml`'s variables: name -> (default, secret).
fn declared() -> BTreeMap<String, (String, bool)> {
    let manifest: toml::Table = super::read("spin.toml").parse().unwrap();
    manifest["variables"]
        .as_table()
        .unwrap()
        .iter()
        .map(|(name, declaration)| {
            let default = declaration.get("default").and_then(|d| d.as_str()).unwrap_or_default().to_owned();
            let secret = declaration.get("secret").and_then(toml::Value::as_bool).unwrap_or(false);
            (name.clone(), (default, secret))
        })
        .collect()
}

/// The reference's rows: name -> (default cell, effect cell).
fn documented() -> BTreeMap<String, (String, String)> {
    let text = super::read("docs/configuration.md");
    let mut rows = BTreeMap::new();
    for line in text.lines().filter(|line| line.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
        let name = cells[0].trim_matches('`').to_owned();
        let row = (cells[1].to_owned(), cells[cells.len() - 1].to_owned());
        assert!(rows.insert(name.clone(), row).is_none(), "{name} is described twice");
    }
    rows
}

#[test]
fn the_configuration_reference_matches_spin_toml() {
    let (declared, documented) = (declared(), documented());
    let missing: Vec<&String> = declared.keys().filter(|name| !documented.contains_key(*name)).collect();
    let stale: Vec<&String> = documented.keys().filter(|name| !declared.contains_key(*name)).collect();
    assert!(missing.is_empty() && stale.is_empty(), "undocumented: {missing:?}; no longer in spin.toml: {stale:?}");
    for (name, (default, secret)) in &declared {
        let (shown, effect) = &documented[name];
        let expected = if default.is_empty() { "*empty*".to_owned() } else { format!("`{default}`") };
        assert_eq!(shown, &expected, "{name}'s default");
        assert_eq!(effect.contains("Secret."), *secret, "{name}: secret in spin.toml and in the reference alike");
    }
}
