"""What operators see, as data: the board behind ``status`` / the dashboard / ``/metrics``,
task lists and details, queues, peons. Rendering (rich tables, HTML, Prometheus text) lives
with each front end; these modules only read and shape."""
