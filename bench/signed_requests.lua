-- wrk script: send pre-built raw HTTP requests, each once, cycling only if they run out.
--
-- Usage: wrk -s bench/signed_requests.lua <url> -- <file> <threads>
-- <file> holds the requests back to back, each as "<byte length>\n<raw request>". Thread i of
-- n takes every n-th request starting at i, so no two threads send the same one. Each thread
-- also counts how often it had to start its list again ("wrapped"), reported by done().

local thread_count = 0
local threads = {}

function setup(thread)
   thread:set("id", thread_count)
   thread_count = thread_count + 1
   table.insert(threads, thread)
end

local requests = {}
local next_index = 0
wrapped = 0

function init(args)
   local path, count = args[1], tonumber(args[2])
   local file = assert(io.open(path, "rb"))
   local data = file:read("*a")
   file:close()
   local position, index = 1, 0
   while position <= #data do
      local newline = data:find("\n", position, true)
      local length = tonumber(data:sub(position, newline - 1))
      if index % count == id then
         requests[#requests + 1] = data:sub(newline + 1, newline + length)
      end
      index = index + 1
      position = newline + 1 + length
   end
end

function request()
   next_index = next_index + 1
   if next_index > #requests then
      next_index = 1
      wrapped = wrapped + 1
   end
   return requests[next_index]
end

function done(summary, latency, requests)
   local total = 0
   for _, thread in ipairs(threads) do
      total = total + thread:get("wrapped")
   end
   io.write(string.format("wrapped: %d\n", total))
end
