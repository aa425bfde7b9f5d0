// A chat server (Tokio's chat example, on tako): `chat [ADDR]` (default 127.0.0.1:6142;
// port 0 lets the kernel choose) prints "listening on ADDR" once bound.
//
// Lines over TCP: a client is asked for its name and welcomed ("* welcome, name"); from
// then on it receives every line any other client sends, as "name: line", and joins and
// leaves ("* name joined", "* name left"). Try it with `nc 127.0.0.1 6142` in a few
// terminals.
//
// One `sync::broadcast` channel carries every message to every session; each session skips
// its own. A session waits while its client's socket is full, but senders never wait: a
// client that stops reading falls behind, the ring overwrites what it has not read, and
// when it reads again it is told "* you missed N messages" and continues with the oldest
// message still retained. A slow client costs the others nothing.
//
// Lines are read through `tako::codec::lines_codec` with a maximum length, so a client that
// sends an endless line costs at most `max_line` bytes: its line is dropped (it is told so)
// and the next one is read normally.

#include <tako/tako.hpp>

#include <sys/socket.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace {

namespace broadcast = tako::sync::broadcast;

/// A line for everyone but its sender. The text is shared by every receiver's copy.
struct chat_message {
    std::uint64_t from;                      ///< the sending session's id
    std::shared_ptr<const std::string> text; ///< with its "\n"
};

/// Messages retained for a client that is behind; beyond this it lags.
constexpr std::size_t history = 1024;
/// Kernel buffering for a client that stops reading (SO_SNDBUF; the kernel doubles it).
/// Without it the send buffer grows to megabytes before the session ever waits.
constexpr int send_buffer_bytes = 32 * 1024;
/// The longest line a client may send, in bytes; a longer one is dropped.
constexpr std::size_t max_line = 4096;

void announce(const broadcast::sender<chat_message>& tx, std::uint64_t from, std::string text) {
    // A send with no receiver fails and hands the message back: nobody to tell.
    (void)tx.send(chat_message{from, std::make_shared<const std::string>(std::move(text))});
}

std::string trimmed(std::string s) {
    const auto first = s.find_first_not_of(" \t");
    const auto last = s.find_last_not_of(" \t");
    return first == std::string::npos ? std::string() : s.substr(first, last - first + 1);
}

tako::task<> session(tako::net::tcp_stream socket, std::uint64_t id,
                     broadcast::sender<chat_message> tx) {
    (void)::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDBUF, &send_buffer_bytes,
                       sizeof send_buffer_bytes);
    // Reads go through a bounded line decoder over a read half that borrows `socket`;
    // writes go to `socket` itself. They never overlap: the loop below writes only after
    // `select` has finished (and cancelled) the read.
    tako::codec::framed_read lines{tako::net::tcp_read_half(socket),
                                   tako::codec::lines_codec(max_line)};

    const auto asked = co_await socket.write_all("enter your name:\n");
    if (!asked) {
        co_return;
    }
    auto first = co_await lines.next();
    if (!first || !*first) {
        co_return; // gone, or a name longer than a line may be
    }
    std::string name = trimmed(std::move(**first));
    if (name.empty()) {
        name = "guest-" + std::to_string(id);
    }

    // Subscribe before announcing: from here on this session sees every message. The
    // welcome tells the client so (messages sent meanwhile wait in the channel).
    auto rx = tx.subscribe();
    announce(tx, id, "* " + name + " joined\n");
    const auto welcomed = co_await socket.write_all("* welcome, " + name + "\n");
    if (!welcomed) {
        co_return;
    }
    for (;;) {
        // Both are cancel-safe: the loser takes nothing (a partial line stays in `lines`).
        auto event = co_await tako::select(lines.next(), rx.recv());
        std::string notice;
        std::string_view out;
        if (event.index() == 0) {
            auto& line = std::get<0>(event);
            if (line && *line) {
                announce(tx, id, name + ": " + **line + "\n");
                continue;
            }
            if (line || line.error() != tako::codec::errc::max_length_exceeded) {
                break; // the client closed, or a read error
            }
            // The codec skips the rest of the long line; the next one is read normally.
            notice = "* line dropped: longer than " + std::to_string(max_line) + " bytes\n";
            out = notice;
        } else {
            auto& received = std::get<1>(event);
            if (received) {
                if (received->from == id) {
                    continue; // our own line
                }
                out = *received->text;
            } else if (received.error().is_lagged()) {
                notice =
                    "* you missed " + std::to_string(received.error().skipped()) + " messages\n";
                out = notice;
            } else {
                break; // closed: cannot happen while this session holds a sender
            }
        }
        const auto written = co_await socket.write_all(out);
        if (!written) {
            break;
        }
    }
    announce(tx, id, "* " + name + " left\n");
}

tako::task<int> async_main(int argc, char** argv) {
    std::string addr = argc > 1 ? argv[1] : "127.0.0.1:6142";
    auto listener = co_await tako::net::tcp_listener::bind(addr);
    if (!listener) {
        std::fprintf(stderr, "chat: cannot listen on %s: %s\n", addr.c_str(),
                     listener.error().message().c_str());
        co_return 1;
    }
    std::printf("listening on %s\n", listener->local_addr()->to_string().c_str());
    std::fflush(stdout);
    // The first receiver is dropped with the pair: sessions subscribe their own.
    broadcast::sender<chat_message> tx = broadcast::channel<chat_message>(history).first;
    for (std::uint64_t next_id = 0;; ++next_id) {
        auto accepted = co_await listener->accept();
        if (accepted) {
            tako::spawn(session, std::move(accepted->first), next_id, tx).detach();
        }
    }
}

} // namespace

TAKO_MAIN(async_main)
