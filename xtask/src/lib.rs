//! Developer tasks of typedis, as a library so that tests can call them: spec
//! regeneration (`regen`, from a live server or a release's files in `source`, merged by
//! `merge`, with per-server data from `availability`), the generated command API
//! (`codegen`), reply schemas (`schemas`), server binaries and the test command
//! (`servers`), the tour against a throwaway server (`tour`).

pub mod availability;
pub mod codegen;
pub mod merge;
pub mod regen;
pub mod schemas;
pub mod servers;
pub mod source;
pub mod tour;
