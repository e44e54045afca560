-- wrk script: POST one fixed body through a forward proxy, in absolute form.
--   wrk -s bench/wrk-post.lua http://PROXY:PORT/ -- http://ORIGIN/PATH CONTENT_TYPE BODY_FILE
-- The body is read once; wrk builds the request once (no request() function: cheap).
-- done() prints 'WRKJSON {...}' like ../shared/bench/tools/wrk-proxy.lua.

function init(args)
   local url, content_type, body_file = args[1], args[2], args[3]
   assert(url and content_type and body_file, "usage: -- URL CONTENT_TYPE BODY_FILE")
   local hostport = url:match("^http://([^/]+)")
   assert(hostport, "origin URL must look like http://HOST:PORT/PATH")
   local f = assert(io.open(body_file, "rb"))
   local body = f:read("*a")
   f:close()
   wrk.method = "POST"
   wrk.path = url
   wrk.body = body
   wrk.headers["Host"] = hostport
   wrk.headers["Content-Type"] = content_type
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'WRKJSON {"requests":%d,"duration_us":%d,"status_errors":%d,"socket_errors":%d,' ..
      '"lat_p50_us":%d,"lat_p99_us":%d}\n',
      summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
      latency:percentile(50), latency:percentile(99)))
end
