// CARv1 streams between the tools (docs/codex-formats.md section 7):
//   varint(len) DAG-CBOR{"roots": [CID...], "version": 1}
//   then per block: varint(len(cid) + len(data)) cid data
// This toolkit's dataset streams carry the blocks in dataset index order (one
// entry per index, repeated blocks repeated, padding blocks as the empty
// block) and end with the manifest block; a pipe writes empty roots.
// See docs/car-streams.md.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "codex/bytes.hpp"
#include "codex/cid.hpp"
#include "codex/error.hpp"
#include "codex/io.hpp"

namespace codex {

struct CarHeader {
  std::vector<Cid> roots;
  std::uint64_t version = 1;
};

// The largest block section accepted (CID + data), so that a hostile length
// cannot make a reader allocate without bound.
inline constexpr std::uint64_t kMaxCarSection = 16u << 20;
// Bounds on the header, for the same reason.
inline constexpr std::uint64_t kMaxCarHeader = 1u << 20;
inline constexpr std::uint64_t kMaxCarRoots = 4096;

Bytes encode_car_header(std::span<const Cid> roots);
// The header as it starts a stream: varint(length) then the header.
Bytes encode_car_header_with_length(std::span<const Cid> roots);

// A manifest CID of zero digest: written as the root by a producer that will
// patch the real manifest CID in afterwards (a seekable file). The header
// with it is exactly as long as the header with any manifest CID.
Cid manifest_root_placeholder();
// Decodes the DAG-CBOR header bytes (without the length varint). Errc::corrupt
// for malformed CBOR, missing keys, a version other than 1 (CARv2 named as such).
Result<CarHeader> decode_car_header(ByteView bytes);

class CarReader {
 public:
  explicit CarReader(ByteSource& source) : source_(source) {}
  // Must be called first.
  Result<CarHeader> read_header();
  // Reads the next block into cid/data (data is resized, its capacity reused).
  // Returns false at a clean end of stream; Errc::corrupt for truncation or
  // malformed sections, naming the byte offset. Does NOT verify data against cid.
  //
  // `admit`, when given, sees each entry's CID and data size before the data
  // is read (or any memory taken for it), and refuses what the caller would
  // refuse anyway, so a hostile stream costs no more than the caller allows.
  using Admit = std::function<Status(const Cid& cid, std::uint64_t data_size)>;
  Result<bool> next(Cid& cid, Bytes& data, const Admit& admit = {});
  std::uint64_t offset() const { return offset_; }  // bytes consumed so far

 private:
  // False at end of stream before the first byte; `what` names the field.
  Result<bool> read_varint_or_eof(std::uint64_t& value, const char* what);
  Status read_varint(std::uint64_t& value, const char* what);
  Status read_exactly(MutableByteView out, const char* what);
  Error truncated(const char* what) const;
  ByteSource& source_;
  std::uint64_t offset_ = 0;
  std::uint64_t sections_ = 0;  // block sections read so far, for messages
};

class CarWriter {
 public:
  explicit CarWriter(ByteSink& sink) : sink_(sink) {}
  Status write_header(std::span<const Cid> roots);
  Status write_block(const Cid& cid, ByteView data);
  std::uint64_t bytes_written() const { return written_; }  // by write_header and write_block

  // Writing sections out of order, where the sink can (sink().can_write_at();
  // flush() the sink first): a block section at `offset` from the stream's
  // start, from any thread. A producer that knows every section's size
  // (section_size) can thus fill a region after the sequential part in any
  // order, and must then write nothing more sequentially.
  ByteSink& sink() { return sink_; }
  static std::uint64_t section_size(const Cid& cid, std::size_t data_size);
  Status write_block_at(std::uint64_t offset, const Cid& cid, ByteView data);

 private:
  ByteSink& sink_;
  std::uint64_t written_ = 0;
};

}  // namespace codex
