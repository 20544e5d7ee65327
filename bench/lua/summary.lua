-- Loaded by every workload script. After wrk's own report, prints one line
-- that bench/run.sh reads: exact counts and latency percentiles in
-- microseconds (wrk's text report rounds them and changes units).
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d status_errors=%d timeouts=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.timeout, e.connect + e.read + e.write))
end

-- Gives each wrk thread a number (0, 1, ...) as the global `tid`.
local threads_seen = 0
function setup(thread)
  thread:set("tid", threads_seen)
  threads_seen = threads_seen + 1
end
