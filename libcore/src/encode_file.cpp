// Encoding a plain dataset stream held in a file, into a file, in one pass.
//
// codex-chunk writes every block of a dataset as a section of one size (the
// same CID length, the same block size), so block i of such a stream starts
// at header + i * section and the manifest is the last, shorter section.
// Knowing that, each task reads the K rows of a run of EC groups where they
// are (K runs of consecutive sections, one read each), checks every block
// against its CID while computing its cell root (one pass over its bytes),
// codes the groups, hashes their parity, and writes data and parity sections
// straight to their places in the output, whose sections are all of known
// size. Every byte of the input is read once, on every core: no second pass,
// no fingerprints, no copy into a sink's buffer. The data sections go out as
// they were read: they are the very bytes the streaming way writes (their
// section headers are checked to be so).
//
// Before anything is written, the section header of every block is read
// (a few dozen bytes each) and their digests checked against the manifest's
// tree. Anything that is not such a stream (blocks of other sizes, a sparse
// stream, a CID written in an unusual way, a protected dataset, a manifest
// longer than a block) is left to the streaming way (encode.cpp), which reads
// it in order and says what is wrong with it.
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <numeric>

#include "codex/codex_tree.hpp"
#include "codex/dataset.hpp"
#include "codex/erasure.hpp"
#include "codex/parallel.hpp"
#include "codex/storage_proof.hpp"
#include "codex/varint.hpp"
#include "encoding.hpp"
#include "sha256_x16.hpp"
#include "take_turns.hpp"

namespace codex::encoder {
namespace {

// A task's rows stay under this (K + M rows of a run of groups).
constexpr std::size_t kMaxRunBytes = 16 << 20;

// A stretch of a file read as a stream through read_at: CarReader parses the
// header and the last section with it, and the file's own stream does not
// move (the streaming way may still need it from the start).
class Window : public ByteSource {
 public:
  Window(ByteSource& file, std::uint64_t begin, std::uint64_t end) : file_(file), pos_(begin), end_(end) {}
  Result<std::size_t> read_some(MutableByteView out) override {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), end_ - pos_));
    if (n == 0) return std::size_t{0};
    CODEX_TRY(file_.read_at(pos_, out.first(n)));
    pos_ += n;
    return n;
  }
  std::string name() const override { return file_.name(); }

 private:
  ByteSource& file_;
  std::uint64_t pos_, end_;
};

// What goes before a block's bytes in its section, as CarWriter writes it:
// the section's length and the block's CID, whose last 32 bytes are the digest.
Bytes section_prefix(const Digest& digest, std::size_t block_size) {
  const Cid cid = Cid::from_digest(codec::block, digest);
  Bytes prefix;
  put_varint(prefix, cid.bytes().size() + block_size);
  prefix.insert(prefix.end(), cid.bytes().begin(), cid.bytes().end());
  return prefix;
}

// A plain dataset stream with every block in a section of one size.
struct FileLayout {
  std::uint64_t header_size = 0;   // the input's CAR header, with its length
  std::uint64_t section_size = 0;  // a block's section: prefix and block
  std::size_t block_size = 0;
  Bytes prefix_head;  // a block's prefix up to its digest: the same for every block
  std::vector<Digest> leaves;
  Manifest manifest;
  Cid manifest_cid;
  std::size_t prefix_size() const { return prefix_head.size() + sizeof(Digest); }
};

Status admit_block(const Cid& cid, std::uint64_t size) {
  if (cid.codec() != codec::block || size == 0 || size > kMaxBlockSize || size % kDefaultCellSize != 0)
    return make_error(Errc::failure, "not a block of a plain dataset");
  return {};
}

Status admit_manifest(const Cid& cid, std::uint64_t size) {
  if (cid.codec() != codec::manifest || size > (1u << 20)) return make_error(Errc::failure, "not a manifest");
  return {};
}

// The layout of `input`, if it is such a stream; every block's digest from its
// CID, and the manifest checked against them. Empty otherwise, or when
// something could not be read (the streaming way reads it again and says so).
std::optional<FileLayout> probe(ByteSource& input) {
  const std::optional<std::uint64_t> size = input.positional_size();
  if (!size) return std::nullopt;
  FileLayout f;
  Window whole(input, 0, *size);
  CarReader reader(whole);
  auto header = reader.read_header();
  if (!header) return std::nullopt;
  f.header_size = reader.offset();
  Cid first_cid;
  Bytes first;
  auto got = reader.next(first_cid, first, admit_block);
  if (!got || !*got || !first_cid.sha256_digest()) return std::nullopt;
  f.block_size = first.size();
  const Bytes prefix = section_prefix(*first_cid.sha256_digest(), f.block_size);
  f.section_size = reader.offset() - f.header_size;
  if (f.section_size != prefix.size() + f.block_size) return std::nullopt;
  f.prefix_head.assign(prefix.begin(), prefix.end() - sizeof(Digest));

  // The manifest: what is left after the last whole section.
  const std::uint64_t blocks = (*size - f.header_size) / f.section_size;
  const std::uint64_t manifest_at = f.header_size + blocks * f.section_size;
  Window tail(input, manifest_at, *size);
  CarReader last(tail);
  Bytes manifest_bytes;
  auto got_manifest = last.next(f.manifest_cid, manifest_bytes, admit_manifest);
  if (!got_manifest || !*got_manifest || manifest_at + last.offset() != *size) return std::nullopt;
  if (manifest_cid(manifest_bytes) != f.manifest_cid) return std::nullopt;
  auto manifest = decode_manifest(manifest_bytes);
  if (!manifest) return std::nullopt;
  f.manifest = std::move(*manifest);
  if (f.manifest.is_protected() || f.manifest.codec != codec::block ||
      f.manifest.hcodec != multihash_code::sha2_256 || f.manifest.block_size != f.block_size ||
      f.manifest.block_count() != blocks)
    return std::nullopt;
  if (!header->roots.empty() && (header->roots.size() != 1 || header->roots[0] != f.manifest_cid))
    return std::nullopt;

  // Every block's section header, and the tree their digests form. A read
  // each, of a few dozen bytes: on every core (8,192 of them for 512 MiB took
  // 6 ms on one).
  f.leaves.resize(blocks);
  constexpr std::uint64_t kHeadersPerTask = 1024;
  std::atomic<bool> usual = true;
  default_pool().for_each(static_cast<std::size_t>((blocks + kHeadersPerTask - 1) / kHeadersPerTask), [&](std::size_t task) {
    Bytes read(f.prefix_size());
    const std::uint64_t end = std::min(blocks, (task + 1) * kHeadersPerTask);
    for (std::uint64_t i = task * kHeadersPerTask; i < end && usual.load(std::memory_order_relaxed); ++i) {
      if (!input.read_at(f.header_size + i * f.section_size, read).ok() ||
          std::memcmp(read.data(), f.prefix_head.data(), f.prefix_head.size()) != 0)
        usual = false;
      else
        std::memcpy(f.leaves[i].data(), read.data() + f.prefix_head.size(), sizeof(Digest));
    }
  });
  if (!usual) return std::nullopt;
  auto root = codex_tree_root(f.leaves);
  if (!root || Cid::from_digest(codec::root, *root) != f.manifest.tree) return std::nullopt;
  return f;
}

// Groups per task: whole runs of sixteen (sha256_batch_width) for both the
// data blocks (K a group) and the parity (M a group), as far as memory allows.
std::size_t groups_per_run(const SteppedLayout& layout, std::uint64_t section_size) {
  const std::size_t width = sha256_batch_width();
  const std::size_t whole = std::lcm(width / std::gcd<std::size_t>(layout.k, width),
                                     width / std::gcd<std::size_t>(layout.m, width));
  const std::size_t fits = kMaxRunBytes / (layout.slots() * section_size);
  return std::max<std::size_t>(1, std::min(std::max(whole, groups_per_task(layout)), fits));
}

// Where the sections go in the output.
struct OutputPlaces {
  std::uint64_t data = 0;    // block i (< blocks) at data + i * section
  std::uint64_t parity = 0;  // parity block i at parity + (i - rounded) * section
};

// Room for one task's run of groups, reused from run to run: row r of group
// g of the run is section r * groups + g, so that a row of the run is one
// stretch of consecutive sections, in the input (data) as in the output.
struct Run {
  ErasureCoder coder;
  std::size_t groups = 0;  // room for this many
  Bytes rows;
  // What the run holds now, for its writes: groups [first, first + count),
  // and how many of each data row are data rather than padding.
  std::uint64_t first = 0;
  std::size_t count = 0;
  std::size_t present[kMaxFragments] = {};
  std::vector<ByteView> blocks;
  std::vector<std::uint64_t> indices;
  std::vector<Digest> digests, cell_roots;
  std::uint8_t* section(std::uint32_t row, std::size_t group, std::uint64_t section_size) {
    return rows.data() + (row * groups + group) * section_size;
  }
};

// The runs' buffers: a few more than the threads coding, so that runs
// waiting to be written (WriteQueue) do not hold a thread up. acquire() waits
// for one to be released once all exist; try_acquire() does not.
class Runs {
 public:
  Runs(const Encoding& e, std::size_t groups, std::uint64_t section_size, std::size_t most)
      : e_(e), groups_(groups), section_size_(section_size), most_(most) {}
  Result<Run*> acquire() {
    std::unique_lock lock(mutex_);
    released_.wait(lock, [this] { return one_left(); });
    return take();
  }
  // A run, or nullptr when all exist and none is free.
  Result<Run*> try_acquire() {
    std::unique_lock lock(mutex_);
    if (!one_left()) return nullptr;
    return take();
  }
  void release(Run* run) {
    {
      std::lock_guard lock(mutex_);
      free_.push_back(run);
    }
    released_.notify_one();
  }

 private:
  // A run is free, or there is room for another (with mutex_ held).
  bool one_left() const { return !free_.empty() || all_.size() < most_; }
  // A free run, else a new one (with mutex_ held, once one_left()).
  Result<Run*> take() {
    if (!free_.empty()) {
      Run* run = free_.back();
      free_.pop_back();
      return run;
    }
    CODEX_TRY_ASSIGN(auto coder, ErasureCoder::open(e_.backend, e_.layout.k, e_.layout.m, e_.block_size));
    all_.push_back(std::make_unique<Run>(Run{std::move(coder), groups_}));
    all_.back()->rows.resize(e_.layout.slots() * groups_ * section_size_);
    return all_.back().get();
  }

  const Encoding& e_;
  std::size_t groups_;
  std::uint64_t section_size_;
  std::size_t most_;
  std::mutex mutex_;
  std::condition_variable released_;
  std::vector<std::unique_ptr<Run>> all_;
  std::vector<Run*> free_;
};

// Groups [first, first + groups): their data rows read and checked, coded,
// the parity hashed and given its section headers.
Status code_run(const FileLayout& f, ByteSource& input, Encoding& e, std::uint64_t first, std::size_t groups,
                Run& run) {
  const SteppedLayout& layout = e.layout;
  const std::uint32_t k = layout.k, m = layout.m;
  const std::uint64_t section = f.section_size;
  const std::size_t prefix = f.prefix_size(), head = f.prefix_head.size(), bs = f.block_size;
  auto block_of = [&](std::uint32_t row, std::size_t g) { return run.section(row, g, section) + prefix; };

  // The data rows, each up to the padding (zeros to the coder).
  run.blocks.clear();
  run.indices.clear();
  run.first = first;
  run.count = groups;
  std::size_t* present = run.present;
  for (std::uint32_t row = 0; row < k; ++row) {
    const std::uint64_t begin = layout.index(first, row);
    present[row] = begin >= layout.blocks ? 0 : static_cast<std::size_t>(std::min<std::uint64_t>(groups, layout.blocks - begin));
    if (present[row] > 0)
      CODEX_TRY(input.read_at(f.header_size + begin * section,
                              MutableByteView(run.section(row, 0, section), present[row] * section)));
    for (std::size_t g = 0; g < present[row]; ++g) {
      const std::uint8_t* s = run.section(row, g, section);
      if (std::memcmp(s, f.prefix_head.data(), head) != 0 ||
          std::memcmp(s + head, e.leaves[begin + g].data(), sizeof(Digest)) != 0)
        return make_error(Errc::io, "'{}' changed while it was being encoded: the section of block {} reads differently",
                          input.name(), begin + g);
      run.blocks.emplace_back(s + prefix, bs);
      run.indices.push_back(begin + g);
    }
    for (std::size_t g = present[row]; g < groups; ++g) std::memset(block_of(row, g), 0, bs);
  }
  run.digests.resize(run.blocks.size());
  run.cell_roots.resize(run.blocks.size());
  block_digests_and_cell_roots(run.blocks, kDefaultCellSize, run.digests, run.cell_roots);
  for (std::size_t i = 0; i < run.blocks.size(); ++i) {
    const std::uint64_t index = run.indices[i];
    if (run.digests[i] != e.leaves[index])
      return make_error(Errc::corrupt, "block {} '{}' does not match its CID (its bytes hash to another digest)", index,
                        Cid::from_digest(codec::block, e.leaves[index]).to_string());
    e.cell_roots[index] = run.cell_roots[i];
  }

  // The parity: coded, hashed together, given their section headers.
  for (std::size_t g = 0; g < groups; ++g) {
    const std::uint8_t* data[kMaxFragments];
    std::uint8_t* parity[kMaxFragments];
    for (std::uint32_t row = 0; row < k; ++row) data[row] = block_of(row, g);
    for (std::uint32_t j = 0; j < m; ++j) parity[j] = block_of(k + j, g);
    CODEX_TRY(run.coder.encode(std::span<const std::uint8_t* const>(data, k), std::span<std::uint8_t* const>(parity, m)));
  }
  run.blocks.clear();
  for (std::uint32_t j = 0; j < m; ++j)
    for (std::size_t g = 0; g < groups; ++g) run.blocks.emplace_back(block_of(k + j, g), bs);
  run.digests.resize(run.blocks.size());
  run.cell_roots.resize(run.blocks.size());
  block_digests_and_cell_roots(run.blocks, kDefaultCellSize, run.digests, run.cell_roots);
  for (std::uint32_t j = 0; j < m; ++j) {
    for (std::size_t g = 0; g < groups; ++g) {
      const std::size_t p = j * groups + g;
      const std::uint64_t index = layout.index(first + g, k + j);
      e.leaves[index] = run.digests[p];
      e.cell_roots[index] = run.cell_roots[p];
      std::uint8_t* s = run.section(k + j, g, section);
      std::memcpy(s, f.prefix_head.data(), head);
      std::memcpy(s + head, run.digests[p].data(), sizeof(Digest));
    }
  }
  return {};
}

// A coded run's sections to their places: each data row as read, each parity
// row, one write each.
Status write_run(const SteppedLayout& layout, std::uint64_t section, ByteSink& output, const OutputPlaces& places,
                 Run& run) {
  for (std::uint32_t row = 0; row < layout.k; ++row)
    if (run.present[row] > 0)
      CODEX_TRY(output.write_at(places.data + layout.index(run.first, row) * section,
                                ByteView(run.section(row, 0, section), run.present[row] * section)));
  for (std::uint32_t j = 0; j < layout.m; ++j)
    CODEX_TRY(output.write_at(places.parity + (layout.index(run.first, layout.k + j) - layout.rounded) * section,
                              ByteView(run.section(layout.k + j, 0, section), run.count * section)));
  return {};
}

// Coded runs waiting to be written, by the coding threads in turn
// (take_turns.hpp). Before, a writer thread of its own took turns with the
// two coders on two cores, which then often both waited for a buffer it held
// (measured on 512 MiB at 4+2: 0.457 s wall with a writer thread, 0.425 s
// without).
class WriteQueue {
 public:
  using Write = std::function<void(Run&)>;
  WriteQueue(Runs& runs, Write write)
      : runs_(runs), turns_([this, write = std::move(write)](Run*& run) {
          write(*run);
          runs_.release(run);
        }) {}
  void offer(Run* run) { turns_.offer(run); }
  bool drain() { return turns_.drain(); }
  // A run to code: a free one, else one freed by writing what waits, else
  // one freed by the thread writing.
  Result<Run*> acquire() {
    for (;;) {
      CODEX_TRY_ASSIGN(Run * run, runs_.try_acquire());
      if (run != nullptr) return run;
      if (!drain()) return runs_.acquire();
    }
  }

 private:
  Runs& runs_;
  TakeTurns<Run*> turns_;
};

// How many runs are coded or written at a time: a few more than the threads
// coding (measured at 4+2: 0.425 s with four more, 0.431 s with two), as
// memory allows, and at least one more.
std::size_t runs_in_flight(std::size_t threads, std::uint64_t run_bytes) {
  constexpr std::uint64_t kBudget = 24 << 20;
  const auto fit = static_cast<std::size_t>(kBudget / run_bytes);
  return std::max(threads + 1, std::min(threads + 4, fit));
}

}  // namespace

Result<std::optional<EncodeResult>> encode_file(ByteSource& input, CarWriter& output, const EncodeOptions& options) {
  std::optional<FileLayout> found = probe(input);
  if (!found) return std::optional<EncodeResult>();
  const FileLayout& f = *found;
  CODEX_TRY_ASSIGN(Encoding e, start(f.manifest, f.manifest_cid, f.leaves.size(), options));
  std::copy(f.leaves.begin(), f.leaves.end(), e.leaves.begin());
  const SteppedLayout& layout = e.layout;

  // The header through the writer, then every section at its place: data,
  // the padding (empty blocks), parity, the manifest.
  CODEX_TRY(write_header(output, options));
  CODEX_TRY(output.sink().flush());
  OutputPlaces places;
  places.data = output.bytes_written();
  const Cid& empty = empty_block_cid();
  const std::uint64_t padding_section = CarWriter::section_size(empty, 0);
  const std::uint64_t padding_at = places.data + layout.blocks * f.section_size;
  for (std::uint64_t index = layout.blocks; index < layout.rounded; ++index)
    CODEX_TRY(output.write_block_at(padding_at + (index - layout.blocks) * padding_section, empty, ByteView()));
  places.parity = padding_at + (layout.rounded - layout.blocks) * padding_section;

  // The pool's threads code runs and write them in turn (WriteQueue).
  const std::size_t per_run = groups_per_run(layout, f.section_size);
  const std::size_t threads = default_pool().size();
  Runs runs(e, per_run, f.section_size, runs_in_flight(threads, layout.slots() * per_run * f.section_size));
  {
    auto probe_coder = runs.acquire();  // fail early, with the backend's reason
    if (!probe_coder) return std::move(probe_coder).error();
    runs.release(*probe_coder);
  }
  std::atomic<bool> failed = false;
  std::mutex error_mutex;
  Status first_error;
  auto fail = [&](Status status) {
    std::lock_guard lock(error_mutex);
    if (!failed.exchange(true)) first_error = std::move(status);
  };
  WriteQueue queue(runs, [&](Run& run) {
    if (failed.load(std::memory_order_relaxed)) return;
    Status written = write_run(layout, f.section_size, output.sink(), places, run);
    if (!written.ok()) fail(std::move(written));
  });
  default_pool().for_each(static_cast<std::size_t>((layout.steps + per_run - 1) / per_run), [&](std::size_t task) {
    if (failed.load(std::memory_order_relaxed)) return;
    const std::uint64_t first = task * per_run;
    const auto groups = static_cast<std::size_t>(std::min<std::uint64_t>(per_run, layout.steps - first));
    auto run = queue.acquire();
    if (!run) return fail(std::move(run).error());
    Status status = code_run(f, input, e, first, groups, **run);
    if (!status.ok()) {
      runs.release(*run);
      return fail(std::move(status));
    }
    queue.offer(*run);
  });
  queue.drain();  // the coding threads are done: nobody else is writing
  CODEX_TRY(first_error);

  Bytes manifest_bytes;
  CODEX_TRY_ASSIGN(EncodeResult result, describe(e, f.manifest, f.manifest_cid, manifest_bytes));
  CODEX_TRY(output.write_block_at(places.parity + (layout.total - layout.rounded) * f.section_size,
                                  result.manifest_cid, manifest_bytes));
  return std::optional<EncodeResult>(std::move(result));
}

}  // namespace codex::encoder
