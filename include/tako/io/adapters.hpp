#pragma once
/// \file
/// Small readers and writers (Tokio's `io::empty`, `sink`, `repeat`, and
/// `AsyncReadExt::take` / `chain`).
///
/// ```cpp
/// #include <tako/io/adapters.hpp>
/// #include <tako/io/util.hpp>
///
/// tako::task<void> header_then_body(tako::io::duplex_stream& body) {
///     auto header = tako::io::repeat(std::byte{'='});
///     auto framed = tako::io::chain(tako::io::take(header, 8), body); // 8 '=' then body
///     std::string all;
///     (void)co_await tako::io::read_to_string(framed, all);
/// }
/// ```
///
/// `take` and `chain` hold their readers as `buf_reader` does: an lvalue argument is
/// borrowed (it must outlive the adapter), an rvalue is moved in. Every operation here is
/// cancel-safe when the inner readers' are.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <utility>

#include "tako/io/duplex.hpp"
#include "tako/io/result.hpp"
#include "tako/io/traits.hpp"
#include "tako/task.hpp"

namespace tako::io {

/// Takes every write and drops it (Tokio's `Sink`).
class sink_stream {
public:
    /// Takes all of `buf` and drops it.
    [[nodiscard]] task<io::result<std::size_t>> write(std::span<const std::byte> buf) {
        co_return buf.size();
    }
};

/// A writer that discards everything.
[[nodiscard]] inline sink_stream sink() noexcept {
    return {};
}

/// Reads nothing (always end of stream) and, as a `sink_stream`, takes every write (Tokio's
/// `Empty`).
class empty_stream : public sink_stream {
public:
    /// 0: end of stream.
    [[nodiscard]] task<io::result<std::size_t>> read(std::span<std::byte>) { co_return 0; }
    /// Nothing buffered, ever.
    [[nodiscard]] task<io::result<std::span<const std::byte>>> fill_buf() {
        co_return std::span<const std::byte>();
    }
    /// Does nothing.
    void consume(std::size_t) noexcept {}
};

/// A reader at end of stream that also discards writes.
[[nodiscard]] inline empty_stream empty() noexcept {
    return {};
}

/// Reads one byte value forever (Tokio's `Repeat`).
class repeat_stream {
public:
    /// Reads `byte` forever.
    explicit repeat_stream(std::byte byte) noexcept : byte_(byte) {}
    /// Fills `buf` with the byte.
    [[nodiscard]] task<io::result<std::size_t>> read(std::span<std::byte> buf) {
        std::ranges::fill(buf, byte_);
        co_return buf.size();
    }

private:
    std::byte byte_;
};

/// A reader that never ends, giving `byte` again and again (bound it with `take`).
[[nodiscard]] inline repeat_stream repeat(std::byte byte) noexcept {
    return repeat_stream(byte);
}

/// At most `limit` bytes of `R`, then end of stream (Tokio's `Take`).
template <class R>
requires async_read<R>
class take_reader {
public:
    /// Reads at most `limit` bytes of `inner`.
    take_reader(R inner, std::uint64_t limit) : inner_(std::forward<R>(inner)), limit_(limit) {}

    /// Reads from `R`, never past the limit; 0 once it is reached.
    [[nodiscard]] task<io::result<std::size_t>> read(std::span<std::byte> buf) {
        if (limit_ == 0 || buf.empty()) {
            co_return 0;
        }
        buf = buf.first(static_cast<std::size_t>(std::min<std::uint64_t>(limit_, buf.size())));
        auto n = co_await inner_.read(buf);
        if (n) {
            limit_ -= *n;
        }
        co_return n;
    }
    /// How many bytes may still be read.
    [[nodiscard]] std::uint64_t limit() const noexcept { return limit_; }
    /// Changes how many bytes may still be read.
    void set_limit(std::uint64_t limit) noexcept { limit_ = limit; }
    /// The inner reader.
    [[nodiscard]] std::remove_reference_t<R>& inner() noexcept { return inner_; }

private:
    R inner_;
    std::uint64_t limit_;
};

/// At most `limit` bytes of `r` (borrowed if an lvalue, else moved in).
template <class R>
requires async_read<std::remove_reference_t<R>>
[[nodiscard]] take_reader<R> take(R&& r, std::uint64_t limit) {
    return take_reader<R>(std::forward<R>(r), limit);
}

/// All of `A`, then all of `B` (Tokio's `Chain`).
template <class A, class B>
requires async_read<A> && async_read<B>
class chain_reader {
public:
    /// Reads `first` to its end, then `second`.
    chain_reader(A first, B second)
        : first_(std::forward<A>(first)), second_(std::forward<B>(second)) {}

    /// Reads from the first reader until it ends, then from the second.
    [[nodiscard]] task<io::result<std::size_t>> read(std::span<std::byte> buf) {
        if (!first_done_ && !buf.empty()) {
            auto n = co_await first_.read(buf);
            if (!n || *n != 0) {
                co_return n;
            }
            first_done_ = true;
        }
        co_return co_await second_.read(buf);
    }
    /// The first reader.
    [[nodiscard]] std::remove_reference_t<A>& first() noexcept { return first_; }
    /// The second reader.
    [[nodiscard]] std::remove_reference_t<B>& second() noexcept { return second_; }

private:
    A first_;
    B second_;
    bool first_done_ = false;
};

/// `a` then `b` (each borrowed if an lvalue, else moved in).
template <class A, class B>
requires async_read<std::remove_reference_t<A>> && async_read<std::remove_reference_t<B>>
[[nodiscard]] chain_reader<A, B> chain(A&& a, B&& b) {
    return chain_reader<A, B>(std::forward<A>(a), std::forward<B>(b));
}

} // namespace tako::io
