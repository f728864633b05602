// Reed-Solomon coding of one EC group through liberasurecode
// (docs/codex-formats.md section 6). One ErasureCoder per thread: it owns a
// liberasurecode instance and reusable buffers, so coding a group does not
// allocate. Fragments are block-sized payloads; the 80-byte liberasurecode
// headers are an internal detail (CHKSUM_NONE headers depend only on geometry).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "codex/error.hpp"

namespace codex {

// Backends this toolkit knows, fastest first; only those whose libraries load
// on this machine are "available".
std::vector<std::string> known_backends();
std::vector<std::string> available_backends();
// isa_l_rs_cauchy, else jerasure_rs_vand, else liberasurecode_rs_vand
// (jerasure_rs_cauchy is slower and limited to K+M <= 16, 4096-byte multiples).
Result<std::string> default_backend();

class ErasureCoder {
 public:
  // Errc::usage for an unknown or unavailable backend or a bad geometry
  // (k, m >= 1, k + m <= 32, block_size a positive multiple of 64 or as the
  // backend requires), with the reason. isa_l_rs_vand is refused for m >= 5
  // (some losses of m blocks are undecodable with it).
  static Result<ErasureCoder> open(std::string_view backend, std::uint32_t k, std::uint32_t m,
                                   std::size_t block_size);
  ErasureCoder(ErasureCoder&&) noexcept;
  ErasureCoder& operator=(ErasureCoder&&) noexcept;
  ~ErasureCoder();

  std::uint32_t k() const;
  std::uint32_t m() const;
  std::size_t block_size() const;
  const std::string& backend() const;

  // data: k pointers to block_size bytes; parity: m pointers to block_size
  // bytes, filled with the parity blocks of the group.
  Status encode(std::span<const std::uint8_t* const> data, std::span<std::uint8_t* const> parity);

  // fragments: k+m pointers in row order, nullptr where the block is missing
  // (callers pass only blocks already verified against their CIDs). For each
  // row with fragments[row] == nullptr and out[row] != nullptr, out[row]
  // receives the rebuilt block. Errc::unrecoverable when fewer than k are present.
  // Outputs must not overlap the inputs. Present blocks are trusted: a corrupt
  // one yields wrong output, not an error.
  Status reconstruct(std::span<const std::uint8_t* const> fragments,
                     std::span<std::uint8_t* const> out);

 private:
  struct State;
  explicit ErasureCoder(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace codex
