-- wrk script: the request line carries an absolute URL (as proxy clients send), with
-- proxy credentials when PROXY_AUTH is set; prints one machine-readable RESULT line.
local target = os.getenv("TARGET")
local auth = os.getenv("PROXY_AUTH")
if target and target ~= "" then wrk.path = target end
if auth and auth ~= "" then wrk.headers["Proxy-Authorization"] = auth end

done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
               + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT rps=%.1f p50_us=%d p99_us=%d requests=%d errors=%d\n",
    summary.requests / seconds, latency:percentile(50), latency:percentile(99), summary.requests, errors))
end
