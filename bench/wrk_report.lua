-- wrk script for bench/serve.py: one request shape per run (WRK_MODE), JSON summary on stdout.
local mode = os.getenv("WRK_MODE") or "get"
local path = os.getenv("WRK_PATH") or "/"
local etag = os.getenv("WRK_ETAG") or ""
local size = tonumber(os.getenv("WRK_SIZE") or "0")
local span = 65536

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init(args)
  math.randomseed(seed or 1)
end

function request()
  local headers = {}
  if mode == "304" then
    headers["If-None-Match"] = etag
  elseif mode == "range" then
    local start = math.random(0, size - span)
    headers["Range"] = "bytes=" .. start .. "-" .. (start + span - 1)
  end
  return wrk.format("GET", path, headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"socket_errors":%d,"status_errors":%d,"bytes":%d,' ..
    '"p50_us":%d,"p95_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status, summary.bytes,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
