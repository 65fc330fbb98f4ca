-- One wrk script for every scenario of bench/perf.py.
--   wrk -s bench/wrk/scenario.lua URL -- SCENARIO FIXTURE_FILE SEED
-- FIXTURE_FILE has one seeded user a line: token, user id, email, tag, note ids (comma-separated),
-- separated by tabs. Every request picks a random user (and note) with a per-thread seed.
-- done() prints one JSON line that bench/perf.py reads.

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_number", counter)
  table.insert(threads, thread)
end

local users = {}
local scenario
local sequence = 0
local PASSWORD = "bench password 1234"

local function split(text, separator)
  local parts = {}
  for part in string.gmatch(text, "([^" .. separator .. "]+)") do
    table.insert(parts, part)
  end
  return parts
end

function init(args)
  scenario = args[1]
  math.randomseed(tonumber(args[3]) * 1000 + thread_number)
  for line in io.lines(args[2]) do
    local fields = split(line, "\t")
    table.insert(users, {
      token = fields[1],
      id = fields[2],
      email = fields[3],
      tag = fields[4],
      notes = split(fields[5] or "", ","),
    })
  end
end

local function pick(list)
  return list[math.random(#list)]
end

local function authorized(user, extra)
  local headers = { ["Authorization"] = "Bearer " .. user.token }
  for name, value in pairs(extra or {}) do
    headers[name] = value
  end
  return headers
end

local JSON = { ["Content-Type"] = "application/json" }

local function random_tags()
  return string.format('["bench-%d", "bench-%d", "학습-%d"]', math.random(50), math.random(50), math.random(50))
end

function request()
  sequence = sequence + 1
  local user = pick(users)
  if scenario == "list_notes" then
    return wrk.format("GET", "/notes?page=1&items_per_page=10", authorized(user))
  elseif scenario == "list_notes_deep" then
    return wrk.format("GET", "/notes?page=15&items_per_page=10", authorized(user))
  elseif scenario == "notes_by_tag" then
    return wrk.format("GET", "/notes/tags/" .. user.tag .. "/notes?page=1&items_per_page=10", authorized(user))
  elseif scenario == "search_notes" then
    return wrk.format("GET", "/notes?q=" .. user.tag .. "&page=1&items_per_page=10", authorized(user))
  elseif scenario == "search_notes_two_terms" then
    -- "학습" percent-encoded: the seeded tags 학습-N.
    return wrk.format("GET", "/notes?q=" .. user.tag .. "+%ED%95%99%EC%8A%B5&page=1&items_per_page=10", authorized(user))
  elseif scenario == "filter_date_range" then
    return wrk.format("GET", "/notes?from=20261101&to=20261130&sort=-memo_date&page=1&items_per_page=10", authorized(user))
  elseif scenario == "get_note" then
    return wrk.format("GET", "/notes/" .. pick(user.notes), authorized(user))
  elseif scenario == "create_note" then
    local body = string.format(
      '{"title": "TIL %d", "content": "Benchmarks measure; they do not guess. 오늘 배운 것 %d", "memo_date": "20261127", "tags": %s}',
      sequence, sequence, random_tags())
    return wrk.format("POST", "/notes", authorized(user, JSON), body)
  elseif scenario == "update_note" then
    return wrk.format("PUT", "/notes/" .. pick(user.notes), authorized(user, JSON), '{"tags": ' .. random_tags() .. '}')
  elseif scenario == "login" then
    local body = "username=" .. user.email:gsub("@", "%%40") .. "&password=" .. PASSWORD:gsub(" ", "+")
    return wrk.format("POST", "/users/login", { ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
  elseif scenario == "signup" then
    local body = string.format(
      '{"name": "Bench %d", "email": "signup-%d-%d-%d@bench.example.com", "password": "%s"}',
      sequence, thread_number, sequence, math.random(1000000000), PASSWORD)
    return wrk.format("POST", "/users", JSON, body)
  elseif scenario == "bound_jwt" then
    return wrk.format("GET", "/bound/jwt", authorized(user))
  elseif scenario == "bound_db" or scenario == "bound_db_async" then
    return wrk.format("GET", "/bound/db?user_id=" .. user.id, authorized(user))
  end
  error("unknown scenario " .. tostring(scenario))
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
