-- wrk: POST the GraphQL document `{ __typename }` (bench/compare.sh, path a).
wrk.method = "POST"
wrk.body = '{"query":"{ __typename }"}'
wrk.headers["Content-Type"] = "application/json"
