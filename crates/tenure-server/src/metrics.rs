//! `/metrics`: request counts by route template and status, request durations, due actions run.
//! Encoded by `prometheus-client` in the OpenMetrics text format, which Prometheus scrapes.

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Instant;

/// The media type `/metrics` answers with.
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The route label of a request no route matched, so unknown paths cannot grow the label set.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Duration buckets: 0.5 ms doubling to about 16 s.
const DURATION_BUCKET_START_SECONDS: f64 = 0.0005;
const DURATION_BUCKETS: u16 = 16;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(
        DURATION_BUCKET_START_SECONDS,
        2.0,
        DURATION_BUCKETS,
    ))
}

/// The server's metrics. Cheap to clone; every clone feeds the same registry, so the binary may
/// keep one to count the due actions its real-time scheduler runs.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram, fn() -> Histogram>,
    due_actions_run: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("tenure");
        let requests = Family::<RequestLabels, Counter>::default();
        let durations = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            duration_histogram as fn() -> Histogram,
        );
        let due_actions_run = Counter::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template",
            durations.clone(),
        );
        registry.register(
            "due_actions_run",
            "Due actions (TIME-4) run by this process",
            due_actions_run.clone(),
        );
        Metrics(Arc::new(Inner {
            registry,
            requests,
            durations,
            due_actions_run,
        }))
    }

    /// Counts due actions run (by a sandbox advance here, by the scheduler loop in the binary).
    pub fn add_due_actions_run(&self, n: u64) {
        self.0.due_actions_run.inc_by(n);
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.0
            .requests
            .get_or_create(&RequestLabels {
                method: method.to_string(),
                route: route.to_string(),
                status,
            })
            .inc();
        self.0
            .durations
            .get_or_create(&RouteLabels {
                method: method.to_string(),
                route: route.to_string(),
            })
            .observe(seconds);
    }

    /// The OpenMetrics text of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.0.registry) {
            tracing::error!(error = %e, "could not encode metrics");
        }
        out
    }
}

/// Middleware: times and counts every request under its route template.
pub(crate) async fn track(
    State(metrics): State<Metrics>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    // Only the standard methods become label values, so requests cannot grow the label set.
    let method = match *request.method() {
        Method::GET
        | Method::POST
        | Method::PATCH
        | Method::PUT
        | Method::DELETE
        | Method::HEAD
        | Method::OPTIONS => request.method().as_str().to_string(),
        _ => "other".to_string(),
    };
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE.to_string(), |m| m.as_str().to_string());
    let response = next.run(request).await;
    metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
