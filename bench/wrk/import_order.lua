-- wrk: POST importOrder, to our GraphQL endpoint or to the Node peer's plain JSON one.
--
--   wrk ... -s bench/wrk/import_order.lua URL -- KIND TOKEN RECEIPT MODE
--
-- KIND: graphql (ours, POST /graphql) or json (the peer, POST /importOrder).
-- MODE: seen (every request sends RECEIPT) or new (RECEIPT is a prefix: every request
-- sends a receipt no one sent before, PREFIX-<thread>-<n>-1, ending in an odd digit after
-- a dash, so the mock answers a valid order, never a rate limit).
-- Both ask for the same fields, so both answer the same JSON.

local QUERY = "mutation($t: UUID!, $r: String!) { importOrder(input: {syncToken: $t, receipt: $r})"
  .. " { duplicate syncLog { id receipt status orderId amount currency errorDetails attempt"
  .. " nextRetryAt importedAt createdAt updatedAt } userErrors { field message code } } }"

threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

local kind, token, receipt, mode, fixed
local counter = 0
local headers = { ["Content-Type"] = "application/json" }

local function body(value)
  if kind == "graphql" then
    return string.format('{"query":"%s","variables":{"t":"%s","r":"%s"}}', QUERY, token, value)
  end
  return string.format('{"syncToken":"%s","receipt":"%s"}', token, value)
end

function init(args)
  kind, token, receipt, mode = args[1], args[2], args[3], args[4]
  if kind ~= "graphql" and kind ~= "json" then error("KIND must be graphql or json") end
  if mode ~= "seen" and mode ~= "new" then error("MODE must be seen or new") end
  if mode == "seen" then
    fixed = wrk.format("POST", nil, headers, body(receipt))
  end
end

function request()
  if fixed then
    return fixed
  end
  counter = counter + 1
  local value = string.format("%s-%d-%d-1", receipt, thread_number, counter)
  return wrk.format("POST", nil, headers, body(value))
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
