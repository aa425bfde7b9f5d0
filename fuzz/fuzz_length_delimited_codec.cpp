// libFuzzer target for codec::length_delimited_codec. Input: 4 configuration bytes (field
// length and byte order; offset; adjustment; num_skip and max frame length), a chunk size
// byte, then the stream. See fuzz_support.hpp for the common invariants; here also: no frame
// is longer than the maximum, and with the default num_skip a frame re-encodes to itself.

#include "fuzz_support.hpp"

#include <tako/codec/length_delimited_codec.hpp>

#include <fuzzer/FuzzedDataProvider.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    const auto layout = in.ConsumeIntegral<std::uint8_t>();
    const std::size_t offset = in.ConsumeIntegral<std::uint8_t>() % 5;
    const auto adjustment = static_cast<std::int64_t>(in.ConsumeIntegral<std::int8_t>());
    const auto limits = in.ConsumeIntegral<std::uint8_t>();
    const std::size_t chunk = in.ConsumeIntegral<std::uint8_t>() % 17;
    const std::string stream = in.ConsumeRemainingBytesAsString();

    const std::size_t field = 1 + layout % 8;
    const bool little = (layout & 0x08) != 0;
    const bool custom_skip = (limits & 0x80) != 0;
    const std::size_t num_skip = (limits >> 4) & 0x07;  // 0 to 7
    const std::size_t max_frame = (limits & 0x0f) * 16; // 0 to 240
    auto b = tako::codec::length_delimited_codec::builder();
    b.length_field_length(field).length_field_offset(offset).length_adjustment(adjustment);
    b.max_frame_length(max_frame);
    if (little) {
        b.little_endian();
    }
    if (custom_skip) {
        b.num_skip(num_skip);
    }
    auto make = [&] { return b.new_codec(); };
    auto check = [&](const std::vector<std::byte>& frame) {
        FUZZ_CHECK(frame.size() <= max_frame);
        if (!custom_skip) {
            auto c = make();
            tako_fuzz::round_trip(c, make(), frame);
        }
    };
    // After "need more": at most a header (offset + field, or num_skip) and a frame.
    const std::size_t bound = std::max(offset + field, custom_skip ? num_skip : 0) + max_frame;
    tako_fuzz::decode_both_ways(make, stream, chunk, bound, check);
    return 0;
}
