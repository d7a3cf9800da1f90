-- wrk script: POST /jobs with a bearer token and a unique Idempotency-Key per request.
--   TOK=<access token> BODY='<job json>' RUN=<unique tag> \
--     wrk -t2 -c200 -d5s -s tests/server/wrk_post_jobs.lua http://127.0.0.1:8080/jobs
-- (tests/server/test_load.py runs it when wrk is installed: Debian package "wrk")
local counter = 0
local tid = 0
wrk.method = "POST"
wrk.body = os.getenv("BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOK")
function setup(thread)
  tid = tid + 1
  thread:set("tid", tid)
end
request = function()
  counter = counter + 1
  wrk.headers["Idempotency-Key"] = "wrk-" .. os.getenv("RUN") .. "-" .. tostring(tid) .. "-" .. tostring(counter)
  return wrk.format()
end
done = function(summary, latency, requests)
  io.write(string.format("requests %d in %.1f s (%.0f/s); errors connect %d read %d write %d status %d timeout %d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout))
  io.write(string.format("latency p50 %.1f ms p95 %.1f ms p99 %.1f ms max %.1f ms\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
