//! Developer tasks of typedis, as a library so that tests can call them: spec
//! regeneration (`regen`), the generated command API (`codegen`), reply schemas
//! (`schemas`), test servers (`servers`).

pub mod codegen;
pub mod regen;
pub mod schemas;
pub mod servers;
