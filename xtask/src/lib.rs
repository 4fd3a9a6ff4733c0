//! Developer tasks of typedis, as a library so that tests can call them: spec
//! regeneration (`regen`), reply schemas (`schemas`), test servers (`servers`).

pub mod regen;
pub mod schemas;
pub mod servers;
