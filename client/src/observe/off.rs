//! The no-op stand-ins of `Site`, `Op`, the events and `CacheMetrics` when neither
//! `tracing` nor `metrics` is enabled: zero-sized, inlined away.
#![allow(dead_code)]

use crate::cmd::Args;
use crate::connection::{Addr, ConnectionInfo};
use crate::error::Error;
use crate::meta::CommandMeta;

/// Where a connection goes (nothing without the features).
#[derive(Debug, Default)]
pub(crate) struct Site;

impl Site {
    #[inline(always)]
    pub(crate) fn new(_: &ConnectionInfo) -> Site {
        Site
    }
    #[inline(always)]
    pub(crate) fn connected(&self, _: &Addr, _: u64, _: Option<&Error>) {}
    #[inline(always)]
    pub(crate) fn connect_failed(&self, _: &Error) {}
    #[inline(always)]
    pub(crate) fn lost(&self, _: &Error) {}
    #[inline(always)]
    pub(crate) fn health_check_failed(&self, _: &Error) {}
    #[inline(always)]
    pub(crate) fn protocol_error(&self, _: &Error) {}
    #[inline(always)]
    pub(crate) fn pending(&self, _: usize) {}
    #[inline(always)]
    pub(crate) fn written(&self, _: usize) {}
    #[inline(always)]
    pub(crate) fn read(&self, _: usize) {}
    #[inline(always)]
    pub(crate) fn pooled(&self, _: usize, _: usize) {}
}

/// One command or batch in progress (nothing without the features).
#[derive(Debug, Default)]
pub(crate) struct Op;

impl Op {
    #[inline(always)]
    pub(crate) fn command(_: &Site, _: Option<&'static CommandMeta>, _: &Args) -> Op {
        Op
    }
    #[inline(always)]
    pub(crate) fn batch(_: &Site, _: &[Args]) -> Op {
        Op
    }
    #[inline(always)]
    pub(crate) fn end<T>(&mut self, _: &Site, _: &crate::Result<T>) {}
}

#[inline(always)]
pub(crate) fn redirected(_: &str, _: u16, _: &str) {}
#[inline(always)]
pub(crate) fn map_refreshed(_: usize, _: &str) {}
#[inline(always)]
pub(crate) fn map_refresh_failed(_: &Error) {}
#[inline(always)]
pub(crate) fn sentinel_switch(_: &str, _: &str) {}
#[inline(always)]
pub(crate) fn resubscribed(_: usize, _: usize, _: usize) {}

/// A client-side cache's counters (nothing without the features).
#[derive(Debug, Clone, Default)]
pub(crate) struct CacheMetrics;

impl CacheMetrics {
    #[inline(always)]
    pub(crate) fn new() -> CacheMetrics {
        CacheMetrics
    }
    #[inline(always)]
    pub(crate) fn hit(&self) {}
    #[inline(always)]
    pub(crate) fn miss(&self) {}
    #[inline(always)]
    pub(crate) fn evicted(&self, _: u64) {}
    #[inline(always)]
    pub(crate) fn invalidated(&self, _: u64) {}
    #[inline(always)]
    pub(crate) fn flushed(&self) {}
}
