//! The checked-in `crds/` must be exactly what the Rust types generate.

use std::path::Path;

const REGENERATE: &str = "cargo run -q -- crds --out-dir crds";

#[test]
fn checked_in_crds_match_the_rust_types() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("crds");
    let generated = lastpass_operator::crd::crd_files().expect("CRDs serialize to YAML");
    assert_eq!(generated.len(), 3, "one CRD per kind");
    for (name, yaml) in &generated {
        let path = dir.join(name);
        let on_disk = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{} is missing ({e}); regenerate with `{REGENERATE}`",
                path.display()
            )
        });
        assert!(
            on_disk == *yaml,
            "{} differs from what the Rust types generate; regenerate with `{REGENERATE}`",
            path.display()
        );
    }
    let mut extra: Vec<String> = std::fs::read_dir(&dir)
        .expect("crds/ exists")
        .map(|e| {
            e.expect("readable entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| !generated.iter().any(|(g, _)| g == n))
        .collect();
    extra.sort();
    assert!(
        extra.is_empty(),
        "crds/ holds files no type generates: {extra:?}; remove them and run `{REGENERATE}`"
    );
}

#[test]
fn crds_carry_names_columns_and_status() {
    for crd in lastpass_operator::crd::all_crds() {
        let names = &crd.spec.names;
        assert_eq!(crd.spec.group, "lastpass-operator.io");
        assert_eq!(crd.spec.scope, "Namespaced");
        assert_eq!(
            names.categories.as_deref(),
            Some(&["lastpass".to_string()][..])
        );
        let version = &crd.spec.versions[0];
        assert_eq!(version.name, "v1alpha1");
        let status = version
            .subresources
            .as_ref()
            .and_then(|s| s.status.as_ref());
        assert!(status.is_some(), "{}: status subresource", names.kind);
        let columns: Vec<&str> = version
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|c| c.name.as_str())
            .collect();
        let (short, want): (&str, &[&str]) = match names.kind.as_str() {
            "LastPassUser" => (
                "lpu",
                &[
                    "Username",
                    "Integration",
                    "Phase",
                    "Ready",
                    "Last Login",
                    "Age",
                ],
            ),
            "LastPassGroup" => (
                "lpg",
                &["Group", "Integration", "Policy", "Members", "Ready", "Age"],
            ),
            "DirectoryIntegration" => ("lpdi", &["Ready", "Managed", "Unmanaged"]),
            other => panic!("unexpected kind {other}"),
        };
        assert_eq!(names.short_names.as_deref(), Some(&[short.to_string()][..]));
        for w in want {
            assert!(
                columns.contains(w),
                "{}: column {w} in {columns:?}",
                names.kind
            );
        }
    }
}
