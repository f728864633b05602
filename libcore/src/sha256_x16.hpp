// SHA-256 of sixteen messages of equal size at once, one in each 32-bit lane
// of the AVX-512 registers.
//
// Most of what the tools hash comes in runs of equal size: the 32 cells of a
// block, the blocks of a batch. SHA-NI (sha256_ni.hpp) hashes one or two
// messages at a time and is bound by its round instruction; the AVX-512
// units, doing the same rounds with plain vector arithmetic on sixteen
// messages side by side, get further per core (measured here: 2.8 GB/s of
// 64 KiB blocks or 2 KiB cells against 1.7 GB/s for SHA-NI two at a time).
// sha256_each uses it for runs of at least kMinLanes messages; below that,
// lanes left empty cost as much as full ones and SHA-NI is faster.
//
// Used only where available() is true (the CPU and the OS support AVX-512F
// and AVX-512BW).
#pragma once

#include <cstddef>
#include <cstdint>

namespace codex::sha_x16 {

inline constexpr std::size_t kLanes = 16;
inline constexpr std::size_t kMinLanes = 10;

bool available();

// out[i] = SHA-256 of messages[i][0 .. size) for i < kLanes.
void digest(const std::uint8_t* const (&messages)[kLanes], std::size_t size, std::uint8_t (&out)[kLanes][32]);

// digest() of the sixteen messages and, in the same pass, the digests of
// their cells (the cell_size-byte pieces a storage proof samples): each
// 64-byte chunk is loaded and expanded into its message schedule once and
// goes through two states, the whole message's and its cell's, which saves
// about a fifth of the work of hashing each separately. Cell c of message j
// goes to cells[j * (size / cell_size) + c]. size must be a non-zero multiple
// of cell_size, and cell_size of 64.
void digest_with_cells(const std::uint8_t* const (&messages)[kLanes], std::size_t size, std::size_t cell_size,
                       std::uint8_t (&out)[kLanes][32], std::uint8_t (*cells)[32]);

}  // namespace codex::sha_x16

namespace codex {

// How many inputs of equal size sha256_each hashes together at most (16 with
// AVX-512, else 2): the size of a run worth handing to one thread.
std::size_t sha256_batch_width();
// Inputs per task when `count` inputs of equal size are hashed by `threads`
// threads: sha256_batch_width(), or fewer when that would leave a thread
// without work (a batch of a few large blocks), but at least two.
std::size_t sha256_run_per_task(std::size_t count, std::size_t threads);

}  // namespace codex
