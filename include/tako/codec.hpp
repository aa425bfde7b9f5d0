#pragma once
/// \file
/// tako's codecs in one include (Tokio's `tokio_util::codec`): the `decoder` / `encoder`
/// concepts and `bytes_buffer` (decoder.hpp, bytes_buffer.hpp), the codec errors
/// (error.hpp), `framed` / `framed_read` / `framed_write` (framed.hpp), and the codecs
/// `lines_codec`, `any_delimiter_codec`, `length_delimited_codec` and `bytes_codec`.

#include "tako/codec/any_delimiter_codec.hpp"
#include "tako/codec/bytes_buffer.hpp"
#include "tako/codec/bytes_codec.hpp"
#include "tako/codec/decoder.hpp"
#include "tako/codec/error.hpp"
#include "tako/codec/framed.hpp"
#include "tako/codec/length_delimited_codec.hpp"
#include "tako/codec/lines_codec.hpp"
