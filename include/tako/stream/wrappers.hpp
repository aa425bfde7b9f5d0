#pragma once
/// \file
/// Streams over tako's other sources (tokio-stream's `wrappers`): interval ticks, channel
/// receivers, a listener's accepted connections, and the lines of a reader.
///
/// ```cpp
/// tako::task<int> count_connections(tako::net::tcp_listener listener) {
///     auto incoming = tako::streams::incoming(std::move(listener)) | tako::streams::take(10);
///     int ok = 0;
///     while (auto conn = co_await incoming.next()) {        // io::result<tcp_stream>
///         if (*conn) ++ok;                                   // a failed accept: keep going
///     }
///     co_return ok;
/// }
/// ```
///
/// Each wrapper takes its source by value (the stream owns it) and yields what the
/// source's own wait gives. **Cancel safety**: that of `stream::next()` (nothing is lost),
/// because the source's wait is not cancelled, only left pending in the stream.

#include <expected>
#include <optional>
#include <string>
#include <utility>

#include "tako/io/lines.hpp"
#include "tako/io/result.hpp"
#include "tako/net/tcp_listener.hpp"
#include "tako/net/tcp_stream.hpp"
#include "tako/stream/stream.hpp"
#include "tako/sync/broadcast.hpp"
#include "tako/sync/mpsc.hpp"
#include "tako/sync/watch.hpp"
#include "tako/time/interval.hpp"

namespace tako::streams {

/// The instants `iv.tick()` gives, for ever (tokio-stream's `IntervalStream`).
inline stream<time::instant> from_interval(time::interval iv) {
    for (;;) {
        co_yield co_await iv.tick();
    }
}

/// The values received on `rx`; ends when every sender is gone and the channel is drained
/// (`ReceiverStream`).
template <class T>
stream<T> from_receiver(sync::mpsc::receiver<T> rx) {
    while (auto v = co_await rx.recv()) {
        co_yield std::move(*v);
    }
}

/// The values received on an unbounded `rx` (`UnboundedReceiverStream`).
template <class T>
stream<T> from_receiver(sync::mpsc::unbounded_receiver<T> rx) {
    while (auto v = co_await rx.recv()) {
        co_yield std::move(*v);
    }
}

/// The values of a broadcast receiver; a `recv_error::lagged(n)` is yielded as an error
/// item (the stream goes on with the oldest value still retained); ends when the channel
/// is closed (`BroadcastStream`).
template <class T>
stream<std::expected<T, sync::broadcast::recv_error>>
from_broadcast(sync::broadcast::receiver<T> rx) {
    for (;;) {
        auto r = co_await rx.recv();
        if (r) {
            co_yield std::expected<T, sync::broadcast::recv_error>(std::move(*r));
        } else if (r.error().is_lagged()) {
            co_yield std::unexpected(r.error());
        } else {
            co_return;
        }
    }
}

/// The current value of a watch receiver at once, then a copy of the value after each
/// change (changes made between two polls are seen as one); ends when the sender is gone
/// (`WatchStream::new`).
template <class T>
stream<T> from_watch(sync::watch::receiver<T> rx) {
    for (;;) {
        T value = *rx.borrow_and_update();
        co_yield std::move(value);
        auto changed = co_await rx.changed();
        if (!changed) {
            co_return;
        }
    }
}

/// The connections `listener` accepts, for ever; a failed accept is yielded as an error
/// item and accepting goes on (`TcpListenerStream`).
inline stream<io::result<net::tcp_stream>> incoming(net::tcp_listener listener) {
    for (;;) {
        auto accepted = co_await listener.accept();
        if (accepted) {
            co_yield io::result<net::tcp_stream>(std::move(accepted->first));
        } else {
            co_yield std::unexpected(accepted.error());
        }
    }
}

/// The lines of `lines` (without their "\n" or "\r\n"), as `line_reader::next_line` gives
/// them; a read error is yielded as an error item and ends the stream (`LinesStream`).
template <class R>
stream<io::result<std::string>> from_lines(io::line_reader<R> lines) {
    for (;;) {
        auto line = co_await lines.next_line();
        if (!line) {
            co_yield std::unexpected(line.error());
            co_return;
        }
        if (!*line) {
            co_return;
        }
        co_yield io::result<std::string>(std::move(**line));
    }
}

} // namespace tako::streams
