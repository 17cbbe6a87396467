//! The LDAP examples parse as DirectoryIntegrations and pass the puller's validation.

use lastpass_operator::crd::DirectoryIntegration;
use lastpass_operator::ldap::config::Settings;

#[test]
fn ldap_examples_validate() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ldap");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("examples/ldap exists") {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for doc in text.split("\n---\n") {
            if !doc.contains("kind: DirectoryIntegration") {
                continue;
            }
            let di: DirectoryIntegration =
                serde_saphyr::from_str(doc).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let s = Settings::from_integration(&di)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(s.spec.group_filter.is_some(), "{}", path.display());
            seen += 1;
        }
    }
    assert_eq!(seen, 2, "openldap.yaml and active-directory.yaml");
}
