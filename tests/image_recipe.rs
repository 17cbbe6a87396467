//! The two image recipes cannot drift: the Dockerfile (for registries) and `scripts/image.sh`
//! (buildah, from the local release binary) build one runtime stage over one root.
//! - The Dockerfile's last stage is `FROM scratch AS runtime` and takes its files only from the
//!   root its builder stage lays out with `image/rootfs.sh` (from `image/runtime.list`).
//! - `scripts/image.sh` builds that same stage text over a root from the same script.
//! - The stage's user is the list's passwd entry and the chart's `runAsUser`, its ports the
//!   chart's, its labels the OCI ones with the source revision, and the chart names the image
//!   `image.sh` tags.
//!
//! (`scripts/image.sh` also checks the image it built against the stage and the root's manifest.)

use std::path::Path;

use serde_json::Value;

fn read(path: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// The Dockerfile's instructions (continuation lines joined, comments dropped), by stage.
fn stages(dockerfile: &str) -> Vec<Vec<String>> {
    let mut stages: Vec<Vec<String>> = vec![Vec::new()];
    let mut current = String::new();
    for line in dockerfile.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(line);
                let instruction = std::mem::take(&mut current);
                let instruction = instruction.split_whitespace().collect::<Vec<_>>().join(" ");
                if instruction.starts_with("FROM ") {
                    stages.push(Vec::new());
                }
                stages.last_mut().expect("a stage").push(instruction);
            }
        }
    }
    stages
}

fn values() -> Value {
    serde_saphyr::from_str(&read("charts/lastpass-operator/values.yaml")).expect("values.yaml")
}

/// The runtime stage: the Dockerfile's last.
fn runtime() -> Vec<String> {
    stages(&read("Dockerfile")).pop().expect("a runtime stage")
}

fn one<'a>(stage: &'a [String], keyword: &str) -> &'a str {
    let found: Vec<&String> = stage
        .iter()
        .filter(|i| i.starts_with(&format!("{keyword} ")))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "the runtime stage needs exactly one {keyword}: {stage:#?}"
    );
    &found[0][keyword.len() + 1..]
}

#[test]
fn runtime_stage_is_scratch_with_the_builders_root_only() {
    let all = stages(&read("Dockerfile"));
    let builder = all
        .iter()
        .find(|s| s.first().is_some_and(|f| f.ends_with(" AS builder")))
        .expect("a builder stage");
    assert!(
        builder.contains(&"COPY image ./image".to_owned())
            && builder.contains(&"RUN image/rootfs.sh /out/lastpass-operator /rootfs".to_owned()),
        "the builder stage must lay out /rootfs with image/rootfs.sh: {builder:#?}"
    );
    let runtime = runtime();
    assert_eq!(runtime[0], "FROM scratch AS runtime");
    let copies: Vec<&String> = runtime
        .iter()
        .filter(|i| i.starts_with("COPY ") || i.starts_with("ADD ") || i.starts_with("RUN "))
        .collect();
    assert_eq!(
        copies,
        ["COPY --from=builder /rootfs/ /"],
        "the runtime stage holds image/rootfs.sh's root and nothing else (scripts/image.sh \
         replaces exactly this line)"
    );
    assert!(
        !read(".dockerignore").lines().any(|l| l.trim() == "image/"),
        ".dockerignore must keep image/ in the build context"
    );
}

#[test]
fn image_sh_builds_the_dockerfiles_runtime_stage_over_the_same_root() {
    let script = read("scripts/image.sh");
    for needle in [
        "image/rootfs.sh \"$bin\" \"$work/rootfs\"",
        "awk '/^FROM scratch AS runtime$/ {p = 1} p' Dockerfile",
        "FROM_BUILDER='COPY --from=builder /rootfs/ /'",
        "buildah bud",
        "--build-arg \"REVISION=$revision\"",
        "yq -r .image.repository",
    ] {
        assert!(
            script.contains(needle),
            "scripts/image.sh no longer has `{needle}`"
        );
    }
    // No buildah call of its own may change the configuration the stage sets.
    for forbidden in [
        "buildah config",
        "buildah commit",
        "buildah copy",
        "buildah add",
    ] {
        assert!(
            !script.contains(forbidden),
            "scripts/image.sh must not `{forbidden}`"
        );
    }
}

#[test]
fn user_ports_and_labels_agree_with_the_list_and_the_chart() {
    let runtime = runtime();
    let list = read("image/runtime.list");
    let user_uid = list
        .lines()
        .find_map(|l| l.strip_prefix("user "))
        .and_then(|l| l.split_whitespace().nth(1))
        .expect("image/runtime.list has a `user NAME UID` entry");
    assert_eq!(one(&runtime, "USER"), format!("{user_uid}:{user_uid}"));
    let deployment = read("charts/lastpass-operator/templates/deployment.yaml");
    assert!(
        deployment.contains(&format!("runAsUser: {user_uid}"))
            && deployment.contains(&format!("runAsGroup: {user_uid}")),
        "the chart runs uid/gid {user_uid}, the image's user"
    );
    let v = values();
    let ports = format!(
        "{} {}",
        v["metrics"]["port"].as_u64().expect("metrics.port"),
        v["scim"]["port"].as_u64().expect("scim.port")
    );
    assert_eq!(
        one(&runtime, "EXPOSE"),
        ports,
        "EXPOSE = the chart's metrics and SCIM ports"
    );
    assert_eq!(one(&runtime, "ENTRYPOINT"), r#"["/lastpass-operator"]"#);
    assert_eq!(one(&runtime, "CMD"), r#"["run"]"#);
    let labels = one(&runtime, "LABEL");
    for key in ["title", "description", "licenses", "version", "revision"] {
        assert!(
            labels.contains(&format!("org.opencontainers.image.{key}=")),
            "LABEL org.opencontainers.image.{key} missing: {labels}"
        );
    }
    assert!(labels.contains(r#"org.opencontainers.image.revision="${REVISION}""#));
    assert!(
        list.lines().any(|l| l.trim() == "libs")
            && list
                .lines()
                .any(|l| l.starts_with("file /etc/ssl/certs/ca-certificates.crt ")),
        "the root holds the libraries ldd lists and the CA bundle"
    );
}
