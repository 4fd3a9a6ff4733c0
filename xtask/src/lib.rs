//! Developer tasks of typedis, as a library so that tests can call them: spec
//! regeneration (`regen`), the generated command API (`codegen`), reply schemas
//! (`schemas`), server binaries and the test command (`servers`), the tour against a
//! throwaway server (`tour`).

pub mod codegen;
pub mod regen;
pub mod schemas;
pub mod servers;
pub mod tour;
