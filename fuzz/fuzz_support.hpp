// What every decoder fuzz target checks, whatever the codec: feeding the input in chunks of
// any size and all at once gives the same frames and errors; a decode never grows the
// buffer, a frame always consumes bytes (no endless loop), an error without progress twice
// in a row ends the stream; after "need more" the buffer holds no more than `bound` bytes
// (memory stays bounded); and each frame passes the target's own check.
#pragma once

#include <tako/codec/bytes_buffer.hpp>
#include <tako/codec/decoder.hpp>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::fprintf(stderr, "fuzz check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);    \
            std::abort();                                                                          \
        }                                                                                          \
    } while (0)

namespace tako_fuzz {

/// One result of a decode: a frame (its bytes) or an error.
struct event {
    bool error = false;
    std::string frame;
    std::error_code code;
    bool operator==(const event&) const = default;
};

/// The bytes of a frame as a string (frames are strings or byte vectors).
template <class Frame>
std::string frame_text(const Frame& f) {
    return {reinterpret_cast<const char*>(f.data()), f.size()};
}

/// Feeds `data` to `d` in chunks of `chunk` bytes (all at once if 0), decoding after each
/// chunk until "need more", then decode_eof until the end; returns every frame and error.
/// `check(frame)` runs on each frame; `bound` is the most the buffer may hold after "need
/// more".
template <class D, class Check>
std::vector<event> decode_all(D d, std::string_view data, std::size_t chunk, std::size_t bound,
                              Check check) {
    std::vector<event> events;
    tako::codec::bytes_buffer buf;
    bool stuck = false; // the last call was an error that consumed nothing
    auto pump = [&](bool eof) {
        for (;;) {
            const std::size_t before = buf.size();
            auto r = eof ? tako::codec::decode_eof(d, buf) : d.decode(buf);
            FUZZ_CHECK(buf.size() <= before); // decoding never adds bytes
            if (!r) {
                events.push_back({true, {}, r.error()});
                const bool progress = buf.size() < before;
                if (!progress && stuck) {
                    return false; // the codec repeats its error: the stream is dead
                }
                stuck = !progress;
                continue;
            }
            stuck = false;
            if (!*r) {
                FUZZ_CHECK(eof || buf.size() <= bound); // bounded memory
                return true;
            }
            FUZZ_CHECK(buf.size() < before); // a frame consumes bytes: no endless loop
            check(**r);
            events.push_back({false, frame_text(**r), {}});
        }
    };
    const std::size_t step = chunk == 0 ? data.size() : chunk;
    for (std::size_t pos = 0; pos < data.size(); pos += step) {
        buf.append(data.substr(pos, step));
        if (!pump(false)) {
            return events;
        }
    }
    pump(true);
    return events;
}

/// `decode_all` in chunks of `chunk` and at once must agree; returns the events.
template <class Make, class Check>
std::vector<event> decode_both_ways(Make make, std::string_view data, std::size_t chunk,
                                    std::size_t bound, Check check) {
    auto whole = decode_all(make(), data, 0, bound, check);
    auto pieces = decode_all(make(), data, chunk, bound, check);
    FUZZ_CHECK(whole == pieces);
    return whole;
}

/// Encodes `frame` with `c` and decodes the result with `d`: exactly `frame`, consuming all.
template <class C, class Frame>
void round_trip(C& c, C d, const Frame& frame) {
    tako::codec::bytes_buffer wire;
    auto encoded = c.encode(frame, wire);
    FUZZ_CHECK(encoded.has_value());
    auto again = d.decode(wire);
    FUZZ_CHECK(again.has_value() && again->has_value());
    FUZZ_CHECK(frame_text(**again) == frame_text(frame));
    FUZZ_CHECK(wire.empty());
}

} // namespace tako_fuzz
