//! With the `observe` feature and `TYPEDIS_BENCH_RECORD=1`: a subscriber that is
//! interested in every span and event (the registry stores each span's data) and a
//! recorder that keeps every measurement, installed for the whole process. Shared by the
//! bench and `observe_cost`.

/// Installs them when `TYPEDIS_BENCH_RECORD=1`; returns whether it did.
pub fn record_everything() -> bool {
    use tracing_subscriber::layer::SubscriberExt;
    struct All;
    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for All {}
    if !std::env::var("TYPEDIS_BENCH_RECORD").is_ok_and(|v| v == "1") {
        return false;
    }
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(All))
        .expect("a subscriber");
    metrics_util::debugging::DebuggingRecorder::new()
        .install()
        .expect("a recorder");
    true
}
