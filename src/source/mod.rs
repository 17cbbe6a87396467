//! Where desired state comes from: YAML files (for `plan`, `demo` and `bench`), or the
//! reflector stores of a cluster (the controllers).

pub mod files;
