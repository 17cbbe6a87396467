//! LastPass Enterprise API client (see `../shared/lastpass-api.md`).
