#include "server.hpp"

#include "connection.hpp"
#include "db.hpp"

#include <tako/select.hpp>
#include <tako/spawn.hpp>
#include <tako/sync/mpsc.hpp>
#include <tako/sync/semaphore.hpp>
#include <tako/task_tracker.hpp>
#include <tako/time/sleep.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace mini_redis {

namespace {

using args_t = std::vector<std::string>;

/// A command frame's words: an array of bulk (or simple) strings; nullopt otherwise.
std::optional<args_t> to_args(frame f) {
    if (f.type != frame::kind::array) {
        return std::nullopt;
    }
    args_t args;
    args.reserve(f.items.size());
    for (auto& item : f.items) {
        if (item.type != frame::kind::bulk && item.type != frame::kind::simple) {
            return std::nullopt;
        }
        args.push_back(std::move(item.text));
    }
    return args;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

void wrong_arity(std::string_view name, std::string& out) {
    encode_error("ERR wrong number of arguments for '" + std::string(name) + "' command", out);
}

/// Redis's reply to a command it does not know.
void unknown_command(const args_t& args, std::string& out) {
    std::string msg = "ERR unknown command '" + args[0] + "', with args beginning with: ";
    for (std::size_t i = 1; i < args.size(); ++i) {
        msg += "'" + args[i] + "' ";
    }
    encode_error(msg, out);
}

/// `SET key value [EX seconds | PX milliseconds]`.
void execute_set(db& database, args_t& args, std::string& out) {
    if (args.size() < 3) {
        return wrong_arity("set", out);
    }
    std::optional<tako::time::duration> expire;
    for (std::size_t i = 3; i < args.size(); ++i) {
        const auto option = lower(args[i]);
        if ((option != "ex" && option != "px") || i + 1 == args.size() || expire) {
            return encode_error("ERR syntax error", out);
        }
        const auto& text = args[++i];
        long long n = 0;
        const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
        if (ec != std::errc{} || p != text.data() + text.size()) {
            return encode_error("ERR value is not an integer or out of range", out);
        }
        // Past about 292 years a duration in nanoseconds overflows: Redis's limit is lower.
        constexpr long long max_ms = 1LL << 46;
        if (n <= 0 || (option == "ex" ? n > max_ms / 1000 : n > max_ms)) {
            return encode_error("ERR invalid expire time in 'set' command", out);
        }
        expire = option == "ex" ? tako::time::duration(std::chrono::seconds(n))
                                : tako::time::duration(std::chrono::milliseconds(n));
    }
    database.set(std::move(args[1]), std::move(args[2]), expire);
    encode_simple("OK", out);
}

/// Commands outside subscribed mode other than SUBSCRIBE and QUIT.
void execute(db& database, const std::string& name, args_t& args, std::string& out) {
    if (name == "get") {
        if (args.size() != 2) {
            return wrong_arity(name, out);
        }
        if (auto value = database.get(args[1])) {
            return encode_bulk(*value, out);
        }
        return encode_nil(out);
    }
    if (name == "set") {
        return execute_set(database, args, out);
    }
    if (name == "ping") {
        if (args.size() > 2) {
            return wrong_arity(name, out);
        }
        return args.size() == 2 ? encode_bulk(args[1], out) : encode_simple("PONG", out);
    }
    if (name == "echo") {
        if (args.size() != 2) {
            return wrong_arity(name, out);
        }
        return encode_bulk(args[1], out);
    }
    if (name == "publish") {
        if (args.size() != 3) {
            return wrong_arity(name, out);
        }
        const auto n = database.publish(args[1], std::move(args[2]));
        return encode_integer(static_cast<std::int64_t>(n), out);
    }
    if (name == "unsubscribe") { // not subscribed: one reply per channel, count 0
        if (args.size() == 1) {
            encode_array_header(3, out);
            encode_bulk("unsubscribe", out);
            encode_nil(out);
            return encode_integer(0, out);
        }
        for (std::size_t i = 1; i < args.size(); ++i) {
            encode_array_header(3, out);
            encode_bulk("unsubscribe", out);
            encode_bulk(args[i], out);
            encode_integer(0, out);
        }
        return;
    }
    if (name == "config" && args.size() == 3 && lower(args[1]) == "get") {
        // redis-benchmark asks whether the server persists at start: mini-redis never does.
        const auto param = lower(args[2]);
        if (param != "save" && param != "appendonly") {
            return encode_array_header(0, out);
        }
        encode_array_header(2, out);
        encode_bulk(param, out);
        return encode_bulk(param == "save" ? "" : "no", out);
    }
    unknown_command(args, out);
}

using message = std::pair<std::string, std::string>; // (channel, payload)

/// Moves what one channel receives into the connection's queue until aborted. A lagging
/// subscriber skips the values it missed (it never holds the publisher back).
tako::task<void> forward(db::message_receiver rx, std::string channel,
                         tako::sync::mpsc::sender<message> tx) {
    for (;;) {
        auto m = co_await rx.recv();
        if (!m) {
            if (m.error().is_lagged()) {
                continue;
            }
            co_return;
        }
        if (!co_await tx.send(message{channel, std::move(*m)})) {
            co_return;
        }
    }
}

/// One task per client.
class handler {
public:
    handler(tako::net::tcp_stream stream, std::shared_ptr<db> database,
            tako::cancellation_token shutdown)
        : conn_(std::move(stream)), db_(std::move(database)), shutdown_(std::move(shutdown)) {}

    tako::task<void> run() {
        for (;;) {
            auto f = conn_.buffered_frame();
            if (!f) {
                // (Bound to a local first: g++ 12 miscompiles `if (co_await task<bool>)`.)
                const bool more = co_await wait_for_bytes();
                if (!more) {
                    co_return;
                }
                continue;
            }
            auto args = to_args(std::move(*f));
            if (!args) {
                encode_error("ERR Protocol error: expected an array of bulk strings", conn_.out());
                continue;
            }
            if (args->empty()) {
                continue; // an empty line or array: Redis ignores it
            }
            const auto name = lower((*args)[0]);
            if (name == "quit") {
                encode_simple("OK", conn_.out());
                (void)co_await conn_.flush();
                co_return;
            }
            if (name == "subscribe") {
                if (args->size() < 2) {
                    wrong_arity(name, conn_.out());
                    continue;
                }
                args->erase(args->begin());
                const bool back_to_normal = co_await subscribed(std::move(*args));
                if (!back_to_normal) {
                    co_return;
                }
                continue;
            }
            execute(*db_, name, *args, conn_.out());
        }
    }

private:
    /// Writes the replies owed; after a malformed frame, an error reply first. false when
    /// the connection is done.
    tako::task<bool> flush_replies() {
        if (!conn_.protocol_error().empty()) {
            encode_error("ERR Protocol error: " + conn_.protocol_error(), conn_.out());
            (void)co_await conn_.flush();
            co_return false;
        }
        auto written = co_await conn_.flush();
        co_return written.has_value();
    }

    /// Writes the replies owed, then reads more bytes unless the server is shutting down.
    /// false when the connection is done (closed, failed, malformed, or shutdown).
    tako::task<bool> wait_for_bytes() {
        const bool flushed = co_await flush_replies();
        if (!flushed) {
            co_return false;
        }
        auto more = co_await shutdown_.run_until_cancelled(conn_.fill());
        co_return more && *more && **more;
    }

    void reply_subscription(std::string_view kind, std::string_view channel, std::size_t count) {
        encode_array_header(3, conn_.out());
        encode_bulk(kind, conn_.out());
        encode_bulk(channel, conn_.out());
        encode_integer(static_cast<std::int64_t>(count), conn_.out());
    }

    /// Subscribed mode: messages from the subscribed channels interleave with the client's
    /// (UN)SUBSCRIBE, PING and QUIT. true when the last channel is unsubscribed (back to
    /// normal mode), false when the connection is done.
    tako::task<bool> subscribed(args_t channels) {
        auto [tx, rx] = tako::sync::mpsc::channel<message>(db::channel_capacity);
        // Each subscription is a task forwarding its channel into `rx`; aborted on
        // unsubscribe and when this function returns.
        struct forwarders {
            std::map<std::string, tako::join_handle<void>, std::less<>> tasks;
            ~forwarders() {
                for (auto& [name, h] : tasks) {
                    h.abort();
                }
            }
        } subs;
        auto subscribe = [&](std::string channel) {
            if (!subs.tasks.contains(channel)) {
                auto h = tako::spawn(forward(db_->subscribe(channel), channel, tx));
                subs.tasks.emplace(channel, std::move(h));
            }
            reply_subscription("subscribe", channel, subs.tasks.size());
        };
        // Waits for the aborted forwarder to end, so its receiver is gone before the reply:
        // a PUBLISH after it no longer counts this connection.
        auto unsubscribe = [&](std::string channel) -> tako::task<void> {
            if (auto it = subs.tasks.find(channel); it != subs.tasks.end()) {
                auto h = std::move(it->second);
                subs.tasks.erase(it);
                h.abort();
                (void)co_await h;
            }
            reply_subscription("unsubscribe", channel, subs.tasks.size());
        };
        for (auto& c : channels) {
            subscribe(std::move(c));
        }
        for (;;) {
            auto f = conn_.buffered_frame();
            if (!f) {
                const bool flushed = co_await flush_replies();
                if (!flushed) {
                    co_return false;
                }
                auto r = co_await tako::select(rx.recv(), conn_.fill(), shutdown_.cancelled());
                if (r.index() == 0) {
                    auto& m = std::get<0>(r);
                    // A message that raced an UNSUBSCRIBE is dropped.
                    if (m && subs.tasks.contains(m->first)) {
                        encode_array_header(3, conn_.out());
                        encode_bulk("message", conn_.out());
                        encode_bulk(m->first, conn_.out());
                        encode_bulk(m->second, conn_.out());
                    }
                    continue;
                }
                if (r.index() == 1) {
                    auto& more = std::get<1>(r);
                    if (more && *more) {
                        continue;
                    }
                }
                co_return false; // closed, failed, or shutdown
            }
            auto args = to_args(std::move(*f));
            if (!args || args->empty()) {
                continue;
            }
            const auto name = lower((*args)[0]);
            if (name == "subscribe" && args->size() >= 2) {
                for (std::size_t i = 1; i < args->size(); ++i) {
                    subscribe(std::move((*args)[i]));
                }
            } else if (name == "unsubscribe") {
                if (args->size() == 1) {
                    while (!subs.tasks.empty()) {
                        co_await unsubscribe(subs.tasks.begin()->first);
                    }
                } else {
                    for (std::size_t i = 1; i < args->size(); ++i) {
                        co_await unsubscribe((*args)[i]);
                    }
                }
                if (subs.tasks.empty()) {
                    co_return true;
                }
            } else if (name == "ping") {
                encode_array_header(2, conn_.out());
                encode_bulk("pong", conn_.out());
                encode_bulk(args->size() > 1 ? (*args)[1] : "", conn_.out());
            } else if (name == "quit") {
                encode_simple("OK", conn_.out());
                (void)co_await conn_.flush();
                co_return false;
            } else {
                encode_error("ERR Can't execute '" + name +
                                 "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
                                 "RESET are allowed in this context",
                             conn_.out());
            }
        }
    }

    connection conn_;
    std::shared_ptr<db> db_;
    tako::cancellation_token shutdown_;
};

tako::task<void> serve_connection(tako::net::tcp_stream stream, std::shared_ptr<db> database,
                                  tako::cancellation_token shutdown,
                                  [[maybe_unused]] tako::sync::owned_semaphore_permit permit) {
    (void)stream.set_nodelay(true);
    handler h(std::move(stream), std::move(database), std::move(shutdown));
    co_await h.run();
    // `permit` is released here: the accept loop may take one more client.
}

} // namespace

tako::task<void> serve(tako::net::tcp_listener listener, tako::cancellation_token shutdown,
                       server_options options) {
    auto database = std::make_shared<db>();
    tako::task_tracker tracker;
    // A coroutine lambda, so that its parameter (and the db) lives in the task's frame for
    // as long as the purge task runs; a plain lambda returning the task would drop it.
    tracker
        .spawn([](std::shared_ptr<db> d) -> tako::task<void> { co_await d->purge_expired_keys(); },
               database)
        .detach();
    auto limit = std::make_shared<tako::sync::semaphore>(options.max_connections);
    auto backoff = std::chrono::milliseconds(1);
    for (;;) {
        auto permit = co_await shutdown.run_until_cancelled(limit->acquire_owned());
        if (!permit || !*permit) {
            break; // shutdown
        }
        auto accepted = co_await shutdown.run_until_cancelled(listener.accept());
        if (!accepted) {
            break;
        }
        if (!*accepted) {
            // Not out of descriptors (accept waits for one then): something rarer. Back
            // off so a persistent failure does not spin.
            std::fprintf(stderr, "mini_redis: accept failed: %s\n",
                         accepted->error().message().c_str());
            (void)co_await shutdown.run_until_cancelled(tako::time::sleep(backoff));
            backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
            continue;
        }
        backoff = std::chrono::milliseconds(1);
        tracker.spawn(serve_connection, std::move((*accepted)->first), database, shutdown,
                      std::move(**permit))
            .detach();
    }
    tracker.close();
    database->shutdown();
    co_await tracker.wait();
}

} // namespace mini_redis
