// mini_redis_cli [--host H] [--port N] COMMAND...: talks to a mini-redis (or Redis) server
// through the client library.
//   ping [MSG] | get KEY | set KEY VALUE [EXPIRE_MS] | publish CHANNEL MESSAGE |
//   subscribe CHANNEL...   (prints each message as "CHANNEL: MESSAGE" until the server closes)

#include "client.hpp"

#include <tako/main.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace {

int usage() {
    std::fprintf(stderr,
                 "usage: mini_redis_cli [--host H] [--port N] ping [MSG] | get KEY | "
                 "set KEY VALUE [EXPIRE_MS] | publish CHANNEL MESSAGE | subscribe CHANNEL...\n");
    return 2;
}

template <class T>
bool failed(const mini_redis::client_result<T>& r) {
    if (!r) {
        std::fprintf(stderr, "%s\n", r.error().what().c_str());
    }
    return !r;
}

tako::task<int> run(std::span<char*> argv) {
    std::string host = "127.0.0.1";
    std::string port = "6379";
    std::vector<std::string> args;
    for (std::size_t i = 1; i < argv.size(); ++i) {
        const std::string_view a = argv[i];
        if ((a == "--host" || a == "--port") && i + 1 < argv.size()) {
            (a == "--host" ? host : port) = argv[++i];
        } else {
            args.emplace_back(a);
        }
    }
    if (args.empty()) {
        co_return usage();
    }
    auto c = co_await mini_redis::client::connect(host + ":" + port);
    if (failed(c)) {
        co_return 1;
    }
    const auto& cmd = args[0];
    if (cmd == "ping" && args.size() <= 2) {
        std::optional<std::string> msg; // (a ?: of temporaries in co_await trips g++ 12)
        if (args.size() == 2) {
            msg = args[1];
        }
        auto r = co_await c->ping(std::move(msg));
        if (failed(r)) co_return 1;
        std::printf("%s\n", r->c_str());
    } else if (cmd == "get" && args.size() == 2) {
        auto r = co_await c->get(args[1]);
        if (failed(r)) co_return 1;
        std::printf("%s\n", *r ? (*r)->c_str() : "(nil)");
    } else if (cmd == "set" && (args.size() == 3 || args.size() == 4)) {
        std::optional<tako::time::duration> expire;
        if (args.size() == 4) {
            expire = std::chrono::milliseconds(std::strtoll(args[3].c_str(), nullptr, 10));
        }
        if (failed(co_await c->set(args[1], args[2], expire))) co_return 1;
        std::printf("OK\n");
    } else if (cmd == "publish" && args.size() == 3) {
        auto r = co_await c->publish(args[1], args[2]);
        if (failed(r)) co_return 1;
        std::printf("%lld\n", static_cast<long long>(*r));
    } else if (cmd == "subscribe" && args.size() >= 2) {
        auto s = co_await mini_redis::client::subscribe(
            std::move(*c), std::vector<std::string>(args.begin() + 1, args.end()));
        if (failed(s)) co_return 1;
        for (;;) {
            auto m = co_await s->next_message();
            if (failed(m)) co_return 1;
            if (!*m) break;
            std::printf("%s: %s\n", (*m)->channel.c_str(), (*m)->content.c_str());
            std::fflush(stdout);
        }
    } else {
        co_return usage();
    }
    co_return 0;
}

} // namespace

TAKO_MAIN(run)
