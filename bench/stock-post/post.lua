-- wrk script: POST /stock with a valid body and a VIN unique to each request.
-- VIN = 4-character prefix (argument; one per wrk run) + 2 characters of thread index + an 11-digit
-- per-thread counter, all in the VIN alphabet (A-Z and 0-9 without I, O, Q): 17 characters.
-- Usage: wrk -s post.lua http://127.0.0.1:3002/stock -- BNCH

local alphabet = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
local base = #alphabet
local threads = 0

local function encode(n, width)
  local out = {}
  for i = width, 1, -1 do
    local d = n % base
    out[i] = alphabet:sub(d + 1, d + 1)
    n = math.floor(n / base)
  end
  return table.concat(out)
end

-- Runs in the main state once per thread: hands each thread its own index.
function setup(thread)
  thread:set("thread_index", threads)
  threads = threads + 1
end

local prefix = "BNCH"
local tag = "AA"
local counter = 0
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  if args[1] ~= nil then
    if not string.match(args[1], "^[A-HJ-NPR-Z0-9][A-HJ-NPR-Z0-9][A-HJ-NPR-Z0-9][A-HJ-NPR-Z0-9]$") then
      error("prefix must be 4 VIN characters, got " .. args[1])
    end
    prefix = args[1]
  end
  tag = encode(thread_index or 0, 2)
end

function request()
  counter = counter + 1
  local vin = prefix .. tag .. encode(counter, 11)
  local body = '{"vin":"' .. vin .. '","manufacturer":"Volkswagen","model":"Golf","year":'
    .. (2000 + counter % 25) .. ',"odometer":' .. (counter % 300000) .. ',"odometerUnit":"km"}'
  return wrk.format("POST", nil, headers, body)
end
