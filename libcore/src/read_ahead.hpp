// Overlapping input with work: while one batch is processed, the next is read
// on another thread, in a second buffer. Used by the stream readers (chunk,
// the dataset stream checker) so that reading, hashing and writing overlap.
// The reading thread is started once per stream, not once per batch.
#pragma once

#include "background_thread.hpp"
#include "codex/error.hpp"

namespace codex {

// fill(batch) reads a batch; is_last(batch) says none follows it;
// process(batch) handles one. Stops at the first error of either (after the
// read in flight has finished, so no thread outlives the buffers).
template <class Batch, class Fill, class IsLast, class Process>
Status read_ahead(Batch (&batches)[2], Fill fill, IsLast is_last, Process process) {
  CODEX_TRY(fill(batches[0]));
  BackgroundThread reader;
  for (int current = 0;; current = 1 - current) {
    Batch& batch = batches[current];
    const bool last = is_last(batch);
    Status filled;
    if (!last) reader.post([&fill, &filled, &next = batches[1 - current]] { filled = fill(next); });
    Status processed = process(batch);
    reader.wait_idle();
    CODEX_TRY(processed);
    if (last) return {};
    CODEX_TRY(filled);
  }
}

}  // namespace codex
