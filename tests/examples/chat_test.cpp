// Drives the built chat example (its path is TAKO_CHAT_BIN) as its users would: the test
// starts the program with posix_spawn, reads "listening on ADDR" from its stdout, and
// connects clients over TCP on 127.0.0.1 (tako clients, one task each). Every read is
// bounded by a timeout, so a lost message fails the test instead of hanging it.

#include "../test_support.hpp"

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

extern char** environ;

namespace {

using namespace std::chrono_literals;

/// The chat program, running on 127.0.0.1 with a port the kernel chose.
class chat_process {
public:
    chat_process() {
        int out[2];
        if (::pipe(out) != 0) {
            throw std::runtime_error("pipe failed");
        }
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
        posix_spawn_file_actions_addclose(&actions, out[0]);
        posix_spawn_file_actions_addclose(&actions, out[1]);
        std::string bin = TAKO_CHAT_BIN;
        std::string where = "127.0.0.1:0";
        char* argv[] = {bin.data(), where.data(), nullptr};
        const int rc = ::posix_spawn(&pid_, bin.c_str(), &actions, nullptr, argv, environ);
        posix_spawn_file_actions_destroy(&actions);
        ::close(out[1]);
        if (rc != 0) {
            ::close(out[0]);
            throw std::runtime_error("cannot start " + bin);
        }
        // "listening on ADDR\n", within 10 s.
        std::string line;
        ::pollfd p{out[0], POLLIN, 0};
        while (!line.ends_with('\n') && ::poll(&p, 1, 10'000) == 1) {
            char c;
            if (::read(out[0], &c, 1) != 1) {
                break;
            }
            line += c;
        }
        ::close(out[0]);
        constexpr std::string_view prefix = "listening on ";
        if (!line.starts_with(prefix) || !line.ends_with('\n')) {
            throw std::runtime_error("chat did not start: '" + line + "'");
        }
        addr_ = line.substr(prefix.size(), line.size() - prefix.size() - 1);
    }
    chat_process(const chat_process&) = delete;
    chat_process& operator=(const chat_process&) = delete;
    ~chat_process() {
        ::kill(pid_, SIGTERM);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }

    [[nodiscard]] const std::string& addr() const noexcept { return addr_; }
    /// True while the program runs.
    [[nodiscard]] bool alive() const noexcept {
        int status = 0;
        return ::waitpid(pid_, &status, WNOHANG) == 0;
    }

private:
    pid_t pid_ = -1;
    std::string addr_;
};

using line_stream = decltype(tako::io::lines(
    tako::io::buf_reader(tako::net::tcp_read_half(std::declval<tako::net::tcp_stream&>()))));

/// One chat user: the connection and a line reader over it.
struct client {
    std::string name;
    tako::net::tcp_stream socket;
    std::optional<line_stream> lines; ///< borrows `socket`: a client never moves

    /// The next line, or "" after ADD_FAILURE if none came within `limit`.
    tako::task<std::string> next(std::chrono::milliseconds limit = 20s) {
        auto line = co_await tako::time::timeout(limit, lines->next_line());
        if (!line) {
            ADD_FAILURE() << name << ": no line within " << limit.count() << " ms";
        } else if (!*line) {
            ADD_FAILURE() << name << ": read failed: " << line->error().message();
        } else if (!**line) {
            ADD_FAILURE() << name << ": the server closed the connection";
        } else {
            co_return std::move(***line);
        }
        co_return std::string();
    }
    /// Reads lines until `want`; false (after ADD_FAILURE) if it does not come.
    tako::task<bool> skip_to(std::string want) {
        for (;;) {
            std::string line = co_await next();
            if (line == want) {
                co_return true;
            }
            if (line.empty()) {
                ADD_FAILURE() << name << ": never got '" << want << "'";
                co_return false;
            }
        }
    }
    tako::task<bool> send(std::string text) {
        const auto written = co_await socket.write_all(text);
        co_return written.has_value();
    }
};

/// Connects, reads the prompt, gives the name and reads the welcome: from then on the
/// client receives every message.
tako::task<std::unique_ptr<client>> join(std::string addr, std::string name) {
    auto c = std::make_unique<client>();
    c->name = name;
    auto s = co_await tako::net::tcp_stream::connect(addr);
    if (!s) {
        ADD_FAILURE() << "connect: " << s.error().message();
        co_return nullptr;
    }
    c->socket = std::move(*s);
    c->lines.emplace(tako::io::buf_reader(tako::net::tcp_read_half(c->socket)));
    const std::string prompt = co_await c->next();
    EXPECT_EQ(prompt, "enter your name:");
    const bool sent = co_await c->send(name + "\n");
    EXPECT_TRUE(sent);
    const std::string welcome = co_await c->next();
    EXPECT_EQ(welcome, "* welcome, " + name);
    if (welcome != "* welcome, " + name) {
        co_return nullptr;
    }
    co_return c;
}

/// Joins `names` one after another.
tako::task<std::vector<std::unique_ptr<client>>> join_all(std::string addr,
                                                          std::vector<std::string> names) {
    std::vector<std::unique_ptr<client>> cs;
    for (const std::string& name : names) {
        auto c = co_await join(addr, name);
        if (!c) {
            break;
        }
        cs.push_back(std::move(c));
    }
    co_return cs;
}

constexpr int clients = 50;
constexpr int lines_per_client = 10;

/// One of the 50: sends its lines, then reads until it has every other client's lines.
/// Returns what went wrong, or "" if every line came, in each sender's order, and none of
/// its own came back.
tako::task<std::string> converse(client* c, int self) {
    std::string batch;
    for (int k = 0; k < lines_per_client; ++k) {
        batch += "line " + std::to_string(k) + " from " + std::to_string(self) + "\n";
    }
    const bool sent = co_await c->send(batch);
    if (!sent) {
        co_return c->name + ": send failed";
    }
    std::map<int, int> next_from; // sender -> the k it must send next
    int received = 0;
    while (received < (clients - 1) * lines_per_client) {
        auto got = co_await tako::time::timeout(20s, c->lines->next_line());
        if (!got || !*got || !**got) {
            co_return c->name + ": stopped after " + std::to_string(received) + " lines";
        }
        const std::string& line = ***got;
        if (line.starts_with("* ")) {
            if (line.find("missed") != std::string::npos) {
                co_return c->name + ": " + line;
            }
            continue; // a join announced after this client joined
        }
        int k = -1;
        int from = -1;
        std::string sender(64, '\0');
        if (std::sscanf(line.c_str(), "%63[^:]: line %d from %d", sender.data(), &k, &from) != 3 ||
            sender.c_str() != "c" + std::to_string(from)) {
            co_return c->name + ": unexpected line '" + line + "'";
        }
        if (from == self) {
            co_return c->name + ": got its own line back";
        }
        if (k != next_from[from]++) {
            co_return c->name + ": out of order from " + std::to_string(from) + ": " + line;
        }
        ++received;
    }
    co_return std::string();
}

TEST(chat_example, every_line_reaches_every_other_client) {
    chat_process chat;
    auto rt = tako_test::mt(2).enable_all().build();
    auto body = [&chat]() -> tako::task<void> {
        std::vector<std::string> names;
        for (int i = 0; i < clients; ++i) {
            names.push_back("c" + std::to_string(i));
        }
        auto cs = co_await join_all(chat.addr(), names);
        EXPECT_EQ(cs.size(), static_cast<std::size_t>(clients));
        if (cs.size() != static_cast<std::size_t>(clients)) {
            co_return;
        }
        std::vector<tako::join_handle<std::string>> talks;
        for (int i = 0; i < clients; ++i) {
            talks.push_back(tako::spawn(converse, cs[i].get(), i));
        }
        for (auto& h : talks) {
            auto problem = co_await h;
            EXPECT_TRUE(problem.has_value());
            EXPECT_EQ(problem.value_or("join failed"), "");
        }
        // A client leaves: everyone else is told.
        cs.back()->socket.close();
        for (int i = 0; i + 1 < clients; ++i) {
            const bool told =
                co_await cs[i]->skip_to("* c" + std::to_string(clients - 1) + " left");
            EXPECT_TRUE(told) << i;
        }
    };
    rt.block_on(body);
    EXPECT_TRUE(chat.alive());
}

TEST(chat_example, a_client_that_stops_reading_lags_and_never_stalls_the_others) {
    chat_process chat;
    auto rt = tako_test::mt(2).enable_all().build();
    auto body = [&chat]() -> tako::task<void> {
        std::vector<std::string> names{"talker", "fast", "slow"};
        auto cs = co_await join_all(chat.addr(), std::move(names));
        EXPECT_EQ(cs.size(), 3u);
        if (cs.size() != 3) {
            co_return;
        }
        client& talker = *cs[0];
        client& fast = *cs[1];
        client& slow = *cs[2];
        const bool fast_saw_slow = co_await fast.skip_to("* slow joined");
        EXPECT_TRUE(fast_saw_slow);
        // `slow` reads nothing from here on; its kernel buffers fill, its session waits on
        // the write, and the channel's ring (1024 messages) overwrites what it missed.
        const int per_batch = 500;
        const int batches = 12;
        const std::string pad(80, '.');
        int k = 0;
        for (int b = 0; b < batches; ++b) {
            std::string batch;
            for (int i = 0; i < per_batch; ++i) {
                batch += "flood " + std::to_string(k + i) + " " + pad + "\n";
            }
            const bool sent = co_await talker.send(batch);
            EXPECT_TRUE(sent);
            // `fast` gets every line, in order, while `slow` is stuck.
            for (int i = 0; i < per_batch; ++i, ++k) {
                const std::string line = co_await fast.next();
                EXPECT_EQ(line, "talker: flood " + std::to_string(k) + " " + pad);
                if (line.empty()) {
                    co_return;
                }
            }
        }
        const bool ended = co_await talker.send("end\n");
        EXPECT_TRUE(ended);
        const std::string fast_end = co_await fast.next();
        EXPECT_EQ(fast_end, "talker: end");

        // Now `slow` reads: consecutive lines, and each gap announced by a notice of
        // exactly its size (one when its socket filled for good; maybe also an earlier one,
        // if its session fell a ring behind before that); nothing twice, nothing unannounced.
        std::uint64_t missed = 0;
        int want = 0; // the flood line expected next
        for (;;) {
            const std::string line = co_await slow.next();
            if (line.empty() || line == "talker: end") {
                EXPECT_EQ(line, "talker: end");
                break;
            }
            unsigned long long n = 0;
            int i = 0;
            if (std::sscanf(line.c_str(), "* you missed %llu messages", &n) == 1) {
                EXPECT_GT(n, 0u);
                missed += n;
                want += static_cast<int>(n);
                continue;
            }
            const bool flood = std::sscanf(line.c_str(), "talker: flood %d", &i) == 1;
            EXPECT_TRUE(flood) << line;
            EXPECT_EQ(i, want) << "after missing " << missed;
            if (!flood || i != want) {
                break;
            }
            ++want;
        }
        EXPECT_GT(missed, 0u);
        EXPECT_EQ(want, per_batch * batches);
    };
    rt.block_on(body);
    EXPECT_TRUE(chat.alive());
}

TEST(chat_example, a_line_over_the_limit_is_dropped_and_the_session_goes_on) {
    chat_process chat;
    auto rt = tako_test::mt(2).enable_all().build();
    auto body = [&chat]() -> tako::task<void> {
        std::vector<std::string> names{"long", "peer"};
        auto cs = co_await join_all(chat.addr(), std::move(names));
        EXPECT_EQ(cs.size(), 2u);
        if (cs.size() != 2) {
            co_return;
        }
        client& talker = *cs[0];
        client& peer = *cs[1];
        const bool joined = co_await talker.skip_to("* peer joined");
        EXPECT_TRUE(joined);
        // 1 MiB without a newline (the server holds at most its 4 KiB limit of it), in
        // pieces, then a normal line.
        const std::string chunk(64 * 1024, 'x');
        for (int i = 0; i < 16; ++i) {
            const bool sent = co_await talker.send(chunk);
            EXPECT_TRUE(sent);
        }
        const bool sent = co_await talker.send("\nhello\n");
        EXPECT_TRUE(sent);
        const std::string notice = co_await talker.next();
        EXPECT_EQ(notice, "* line dropped: longer than 4096 bytes");
        // The peer never sees the long line, only what followed it.
        const std::string got = co_await peer.next();
        EXPECT_EQ(got, "long: hello");
        // A line of exactly the limit still goes through.
        const bool at_limit = co_await talker.send(std::string(4096, 'y') + "\n");
        EXPECT_TRUE(at_limit);
        const std::string longest = co_await peer.next();
        EXPECT_EQ(longest, "long: " + std::string(4096, 'y'));
    };
    rt.block_on(body);
    EXPECT_TRUE(chat.alive());
}

} // namespace
