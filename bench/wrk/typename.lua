-- wrk: POST the GraphQL document `{ __typename }` (bench/compare.sh, path a).
wrk.method = "POST"
wrk.body = '{"query":"{ __typename }"}'
wrk.headers["Content-Type"] = "application/json"

threads = {}
function setup(thread)
  table.insert(threads, thread)
end

-- A 200 whose body carries GraphQL "errors" is a failure wrk would count as a success:
-- counted per thread and printed as "Body errors: N" for bench/compare.sh.
body_errors = 0 -- global: done() reads it from each thread
function response(status, headers, body)
  if status == 200 and body:find('"errors"', 1, true) then
    body_errors = body_errors + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + (thread:get("body_errors") or 0)
  end
  io.write(string.format("Body errors: %d\n", total))
end
