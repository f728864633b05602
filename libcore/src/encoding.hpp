// What the encoder's two ways through a dataset share (encode.cpp): the
// streaming way, which reads the data blocks in order and codes the EC groups
// in a second pass, and the one-pass way for a file written to a file
// (encode_file.cpp), which reads each group's K rows at once. Both give the
// same bytes out.
#pragma once

#include <optional>
#include <vector>

#include "codex/encode.hpp"

namespace codex::encoder {

// Geometry, and the digests and cell roots of every block (filled by many
// threads, each at its own indices).
struct Encoding {
  SteppedLayout layout;
  std::size_t block_size = 0;
  std::string backend;
  std::vector<Digest> leaves;      // all `total` leaves
  std::vector<Digest> cell_roots;  // all `total` block cell roots
};

// The encoding of a plain dataset of `blocks` blocks: its layout, backend,
// and the padding's leaves and cell roots. Errc::usage for a protected
// dataset or a block size the cells do not divide.
Result<Encoding> start(const Manifest& plain, const Cid& cid, std::uint64_t blocks, const EncodeOptions& options);

// The output's CAR header (with the root placeholder where asked).
Status write_header(CarWriter& output, const EncodeOptions& options);

// Groups per task: enough parity blocks (M each) for sha256_each to hash them
// together (sixteen on AVX-512), so a task's parity CIDs cost no more per
// byte than the data's.
std::size_t groups_per_task(const SteppedLayout& layout);

// The protected manifest, from the leaves and cell roots of every block;
// `encoded` receives its bytes.
Result<EncodeResult> describe(const Encoding& e, const Manifest& plain, const Cid& plain_cid, Bytes& encoded);

// The one-pass way: a plain dataset stream in a file whose blocks are all of
// one size, written to an output that can be written at positions. Empty
// (nothing read but section headers, nothing written) when the input is not
// such a stream: the streaming way then reads it and says what is wrong.
Result<std::optional<EncodeResult>> encode_file(ByteSource& input, CarWriter& output, const EncodeOptions& options);

}  // namespace codex::encoder
