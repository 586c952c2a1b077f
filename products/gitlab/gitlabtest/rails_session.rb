# Writes GitLab's Redis session values with real Ruby and ActiveSupport, for reauth's tests.
#
# One request per line on stdin (JSON), one answer per line on stdout: "OK <base64>" for a
# value, "OK <integer>" for a user id, "ERR <message>". The process serves requests until
# stdin closes, so that a test binary pays Ruby's start-up once.
#
# Requests:
#   {"op":"rack","format":F,"user_id":N,"impersonator_id":M,"ttl":S}
#       The Rails session value of session:gitlab:<id> (user_id 0: nobody signed in), in
#       format F:
#         hash              Marshal of the bare session hash, as redis-store (RedisStore,
#                           older GitLab) keeps it.
#         entry61           Marshal of ActiveSupport::Cache::Entry.new(hash, expires_in:), as
#                           the Rails 6.1 cache coder (Gitlab::Sessions::CacheStoreCoder)
#                           writes it: built by the installed gem.
#         entry61-compressed  The same with compress: true through the gem's own compress
#                           path, the session padded past the 1 KB default threshold.
#         entry7            The Rails 7.x ivar layout (@created_at 0.0, @expires_in holding
#                           the absolute expiry time): see entry7 below.
#         entry7-compressed  The same, compressed as Rails 7.x Entry#compressed does.
#   {"op":"legacy", ...}   The legacy ActiveSession record (Marshal of the object, times as
#                           ActiveSupport::TimeWithZone).
#   {"op":"user","value":B64}  Loads a Rails session value as GitLab's CacheStoreCoder does
#                           (Marshal.load; an Entry gives its value, a bare hash is itself)
#                           and answers the Devise user id, 0 when nobody is signed in.
require "json"
require "base64"
require "zlib"
require "securerandom"
require "active_support"
require "active_support/cache"
require "active_support/time"

# GitLab's model, enough for Marshal to write and read the legacy record's class name.
class ActiveSession
end

SALT = "$2a$10$0123456789012345678901"

def session_hash(req, pad)
  h = { "_csrf_token" => SecureRandom.base64(32) }
  uid = req.fetch("user_id", 0)
  if uid != 0
    h["warden.user.user.key"] = [[uid], SALT]
    h["warden.user.user.session"] = { "last_request_at" => Time.now.to_i }
  end
  imp = req.fetch("impersonator_id", 0)
  h["impersonator_id"] = imp if imp != 0
  # A long return path, as a browser sent to sign-in from a deep link leaves behind: it makes
  # the session big enough for the cache store to compress.
  h["user_return_to"] = "/group/project/-/merge_requests?" + ("label_name[]=backend&" * 60) if pad
  h
end

# The installed gem is ActiveSupport 6.1, whose Entry is what the rails61 coder writes. Rails
# 7.x keeps the same ivar names with other contents (@created_at = 0.0, @expires_in = the
# absolute expiry time; activesupport/lib/active_support/cache/entry.rb in 7.1), which this
# gem cannot produce: that layout is written by plain Ruby Marshal of an Entry whose ivars are
# set one by one, in 7.x's order.
def entry7(value, ttl, compressed)
  e = ActiveSupport::Cache::Entry.allocate
  e.instance_variable_set(:@value, compressed ? Zlib::Deflate.deflate(Marshal.dump(value)) : value)
  e.instance_variable_set(:@version, nil)
  e.instance_variable_set(:@created_at, 0.0)
  e.instance_variable_set(:@expires_in, Time.now.to_f + ttl)
  e.instance_variable_set(:@compressed, true) if compressed
  e
end

def rack(req)
  ttl = req.fetch("ttl", 604_800).to_f
  case req["format"]
  when "hash"
    Marshal.dump(session_hash(req, false))
  when "entry61"
    Marshal.dump(ActiveSupport::Cache::Entry.new(session_hash(req, false), expires_in: ttl))
  when "entry61-compressed"
    e = ActiveSupport::Cache::Entry.new(session_hash(req, true), compress: true, expires_in: ttl)
    raise "the gem did not compress the entry" unless e.instance_variable_get(:@compressed)
    Marshal.dump(e)
  when "entry7"
    Marshal.dump(entry7(session_hash(req, false), ttl, false))
  when "entry7-compressed"
    Marshal.dump(entry7(session_hash(req, true), ttl, true))
  else
    raise "unknown format #{req["format"].inspect}"
  end
end

def legacy(req)
  zone = ActiveSupport::TimeZone["UTC"]
  s = ActiveSession.new
  s.instance_variable_set(:@ip_address, req["ip_address"])
  s.instance_variable_set(:@browser, req["browser"])
  s.instance_variable_set(:@os, req["os"])
  s.instance_variable_set(:@device_name, req["device_name"])
  s.instance_variable_set(:@device_type, req["device_type"])
  s.instance_variable_set(:@created_at, zone.at(req["created_at"]))
  s.instance_variable_set(:@updated_at, zone.at(req["updated_at"]))
  s.instance_variable_set(:@session_id, req["session_id"])
  s.instance_variable_set(:@is_impersonated, req["is_impersonated"])
  Marshal.dump(s)
end

def user(req)
  v = Marshal.load(Base64.strict_decode64(req["value"]))
  v = v.value if v.is_a?(ActiveSupport::Cache::Entry)
  return 0 unless v.is_a?(Hash)
  key = v["warden.user.user.key"]
  key.is_a?(Array) && key[0].is_a?(Array) ? key[0][0].to_i : 0
end

STDOUT.sync = true
while (line = STDIN.gets)
  begin
    req = JSON.parse(line)
    out = case req["op"]
          when "rack" then Base64.strict_encode64(rack(req))
          when "legacy" then Base64.strict_encode64(legacy(req))
          when "user" then user(req).to_s
          else raise "unknown op #{req["op"].inspect}"
          end
    STDOUT.puts "OK #{out}"
  rescue StandardError => e
    STDOUT.puts "ERR #{e.class}: #{e.message}".gsub("\n", " ")
  end
end
