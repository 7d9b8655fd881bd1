use super::locate::LineIndex;
use super::*;

fn p(text: &str) -> Result<Config, ConfigError> {
    parse(text, Path::new("/etc/esa/config.toml"))
}

fn err(text: &str) -> String {
    p(text).unwrap_err().to_string()
}

#[test]
fn default_config_parses() {
    let c = p(DEFAULT_CONFIG).unwrap();
    assert_eq!(c.sites.len(), 1);
    assert_eq!(c.sites[0].id, 1234567890123);
    assert_eq!(c.sites[0].name, "example.com");
    assert_eq!(c.ca.key_type, PkeyType::EcP256);
    assert_eq!(c.ca.common_name_for(&c.sites[0]), "example.com Client CA");
    assert_eq!(c.defaults.validity_days, 365);
    assert_eq!(c.defaults.pkey_type, PkeyType::Rsa2048);
    assert!(c.store.keep_private_keys);
    assert_eq!(c.crl.next_update_days, 7);
}

#[test]
fn relative_store_path_is_taken_from_the_config_folder() {
    let c = p("[store]\npath = \"data\"\n").unwrap();
    assert_eq!(c.store.path, PathBuf::from("/etc/esa/data"));
}

#[test]
fn unknown_key_names_file_line_and_key() {
    let e = err("[store]\nkeep_private_keys = true\npaht = \"x\"\n");
    assert!(
        e.starts_with("/etc/esa/config.toml:3: key `store.paht`"),
        "{e}"
    );
    assert!(e.contains("unknown field"), "{e}");
}

#[test]
fn wrong_type_names_the_key() {
    let e = err("[defaults]\nvalidity_days = \"ten\"\n");
    assert!(e.contains(":2: key `defaults.validity_days`"), "{e}");
}

#[test]
fn out_of_range_values_are_refused() {
    assert!(err("[defaults]\nvalidity_days = 0\n").contains("out of range"));
    assert!(err("[defaults]\nvalidity_days = 3651\n").contains("out of range"));
    assert!(err("[ca]\nvalidity_days = -1\n").contains("out of range"));
    let e = err("[defaults]\npkey_type = \"DSA\"\n");
    assert!(
        e.contains("key `defaults.pkey_type`") && e.contains("unknown key type"),
        "{e}"
    );
}

#[test]
fn a_quoted_bad_value_is_escaped_once() {
    let e = err("[ca]\nkey_type = \"a\\u001b[31mb\"\n");
    assert!(e.contains(r#"unknown key type "a\u{1b}[31mb";"#), "{e}");
}

#[test]
fn duplicate_site_id_points_at_the_second() {
    let e = err("[[site]]\nid = 7\nname = \"a.com\"\n\n[[site]]\nid = 7\nname = \"b.com\"\n");
    assert!(
        e.contains(":6: key `site.id`: duplicate site id 7 (first declared on line 2)"),
        "{e}"
    );
}

#[test]
fn site_needs_a_name_and_a_clean_one() {
    assert!(err("[[site]]\nid = 7\n").contains("missing field `name`"));
    assert!(err("[[site]]\nid = 7\nname = \"a\\u001bb\"\n").contains("control"));
    assert!(err("[[site]]\nid = -7\nname = \"a\"\n").contains("site.id"));
}

#[test]
fn ca_name_longer_than_64_after_expansion_is_refused() {
    let long = "x".repeat(60);
    let e = err(&format!("[[site]]\nid = 7\nname = \"{long}\"\n"));
    assert!(
        e.contains("ca.common_name") || e.contains("expands to"),
        "{e}"
    );
}

#[test]
fn syntax_error_names_a_line() {
    let e = err("[store\n");
    assert!(e.starts_with("/etc/esa/config.toml:1:"), "{e}");
}

/// `[[site]]` tables for ids 1..=n, four lines each (the first on line 1).
fn many_sites(n: u64) -> String {
    let mut text = String::new();
    for id in 1..=n {
        text.push_str(&format!(
            "[[site]]\nid = {id}\nname = \"s{id}.example\"\n\n"
        ));
    }
    text
}

#[test]
fn a_config_of_30000_sites_fits_under_the_size_limit_and_loads() {
    // Issue 13: 30,000 sites (about 1.3 MB written as the README does).
    let n = 30_000;
    let text = many_sites(n);
    assert!(text.len() as u64 <= crate::base::limits::MAX_CONFIG_BYTES);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(&file, &text).unwrap();
    let c = load(&file).unwrap();
    assert_eq!(c.sites.len(), n as usize);
    assert_eq!(c.site(29_999).unwrap().name, "s29999.example");
}

#[test]
fn a_config_of_20000_sites_loads_and_errors_at_its_end_name_the_right_line() {
    // Line numbers were computed by rescanning the file for every site
    // (quadratic: 24k sites took seconds); this checks they stay exact.
    let n = 20_000;
    let text = many_sites(n);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(&file, &text).unwrap();
    let c = load(&file).unwrap();
    assert_eq!(c.sites.len(), n as usize);
    assert_eq!(c.sites[19_999].name, "s20000.example");
    // Site k's `id` is on line 4k - 2; one more table repeats site 19,999's.
    let dup = format!("{text}[[site]]\nid = 19999\nname = \"again.example\"\n");
    let e = err(&dup);
    assert!(
        e.contains(&format!(
            ":{}: key `site.id`: duplicate site id 19999 (first declared on line {})",
            4 * n + 2,
            4 * 19_999 - 2
        )),
        "{e}"
    );
    // A bad value in the last table.
    let bad =
        format!("{text}[[site]]\nid = 20001\nname = \"x.example\"\nmax_client_certificates = -1\n");
    let e = err(&bad);
    assert!(
        e.contains(&format!(
            ":{}: key `site.max_client_certificates`",
            4 * n + 4
        )),
        "{e}"
    );
}

#[test]
fn line_numbers_of_offsets() {
    let text = "a\nbc\n\nd";
    let lines = LineIndex::new(text);
    for (offset, line) in [
        (0, 1),
        (1, 1),
        (2, 2),
        (4, 2),
        (5, 3),
        (6, 4),
        (7, 4),
        (99, 4),
    ] {
        assert_eq!(lines.line_of(offset), line, "offset {offset}");
    }
    assert_eq!(LineIndex::new("").line_of(0), 1);
    assert_eq!(LineIndex::new("x\n").line_of(2), 2);
}

#[test]
fn first_run_writes_the_default_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/config.toml");
    let (_, created) = load_or_init(&path).unwrap();
    assert!(created);
    std::fs::write(&path, "[[site]]\nid = 1\nname = \"mine.org\"\n").unwrap();
    let (c, created) = load_or_init(&path).unwrap();
    assert!(!created);
    assert_eq!(c.sites[0].name, "mine.org");
}

#[test]
fn a_site_is_found_by_id_and_an_unknown_id_is_not() {
    let mut c = parse(
        &format!(
            "{}[[site]]\nid = 7\nname = \"seven.example\"\n",
            many_sites(3)
        ),
        Path::new("/etc/esa/config.toml"),
    )
    .unwrap();
    assert_eq!(c.site(7).unwrap().name, "seven.example");
    assert_eq!(c.site(2).unwrap().name, "s2.example");
    assert!(c.site(4).is_none());
    // Changed after loading: still what `sites` says.
    c.sites.swap(0, 3);
    c.sites.pop();
    assert_eq!(c.site(7).unwrap().name, "seven.example");
    assert!(c.site(1).is_none());
    assert_eq!(c.site(2).unwrap().name, "s2.example");
}
