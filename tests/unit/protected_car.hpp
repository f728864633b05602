// What the unit tests share to make a protected dataset in memory: the
// bytes chunked into a plain CAR stream, then erasure-coded into a
// protected CAR stream (as `codex-chunk | codex-encode` would).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>

#include "codex/bytes.hpp"
#include "codex/car.hpp"
#include "codex/dataset.hpp"
#include "codex/encode.hpp"
#include "codex/io.hpp"

namespace codex::testing {

struct ProtectedCar {
  Bytes car;                            // the protected dataset's CAR stream
  std::optional<EncodeResult> encoded;  // empty (and the test failed) when encoding failed
};

inline ProtectedCar make_protected_car(const Bytes& data, std::uint64_t block_size, const EncodeOptions& options) {
  MemorySink plain;
  {
    MemorySource input(data);
    CarWriter writer(plain);
    ChunkOptions chunk_options;
    chunk_options.block_size = block_size;
    auto chunked = chunk_stream(input, &writer, chunk_options);
    EXPECT_TRUE(chunked.ok()) << chunked.error().message;
  }
  ProtectedCar out;
  MemorySink protected_sink;
  {
    MemorySource input(plain.bytes);
    CarWriter writer(protected_sink);
    auto encoded = encode_stream(input, writer, options);
    EXPECT_TRUE(encoded.ok()) << encoded.error().message;
    if (encoded.ok()) out.encoded = std::move(*encoded);
  }
  out.car = std::move(protected_sink.bytes);
  return out;
}

}  // namespace codex::testing
