// Encoding a plain dataset into a protected one, in two passes: the way for
// a stream from a pipe, or into one, and for a stored dataset. A file
// written to a file takes one pass instead (encode_file.cpp).
//
// Pass 1 streams the data blocks through: each is checked against its CID
// and given its cell root (for the slot trees) in one pass over its bytes,
// and written out. Pass 2 codes the
// EC groups (group s = rows s, s+steps, ...: scattered over the whole
// dataset) on every core, each task taking a run of consecutive groups,
// reading their K data blocks each and placing their M parity blocks itself,
// so that reading, coding, hashing and writing all spread over the cores.
// The manifest comes last.
//
// Where pass 2 reads the data blocks again:
//  - from an input file that can be read at positions: the file itself, at
//    the offsets pass 1 saw. Each block is checked against a fingerprint
//    (fingerprint.hpp: XXH3, far cheaper than SHA-256) taken in pass 1, so that a
//    file changed in between fails the encoding instead of yielding parity of
//    other bytes than the data written out;
//  - from a pipe into an output file: the output, where pass 1 wrote them
//    (checked against fingerprints the same way). Writing a spill file costs
//    more than it seems on machines that hand freed memory back to their
//    host: each new page-cache page is then a fault on the host too;
//  - from a pipe into a pipe: a spill file that pass 1 wrote (one write, one
//    read);
//  - for a stored dataset: the repository.
// Where the parity goes:
//  - to an output that can be written at positions (a regular file):
//    straight to its place after the data, all sections being of known size;
//  - otherwise: a spill file in index order, copied out after pass 2.
// Memory holds a few batches, one run of groups per core and the per-block digests,
// whatever the dataset size.
#include "codex/encode.hpp"

#include <atomic>
#include <mutex>
#include <optional>

#include "codex/block_source.hpp"
#include "codex/codex_tree.hpp"
#include "codex/dataset.hpp"
#include "codex/erasure.hpp"
#include "codex/parallel.hpp"
#include "codex/storage_proof.hpp"
#include "dataset_stream.hpp"
#include "encoding.hpp"
#include "fingerprint.hpp"
#include "sha256_x16.hpp"
#include "temp_file.hpp"

namespace codex {
namespace encoder {
namespace {

constexpr std::size_t kOutputBatchBytes = 4 << 20;

// Pass 2's ends, called from the pool's threads: read data block `index`
// (block_size bytes, checked) into `out`; place parity block `index`.
// Sources that must be read from one thread (the repository) fetch each batch
// of groups first, on the calling thread: Prefetch(first group, count).
using ReadData = std::function<Status(std::uint64_t index, Bytes& out)>;
using PutParity = std::function<Status(std::uint64_t index, const Digest& digest, ByteView block)>;
using Prefetch = std::function<Status(std::uint64_t first_group, std::size_t groups)>;

constexpr std::size_t kGroupBatchBytes = 16 << 20;

// A coder and room for one task's run of groups (each K data blocks, then M
// parity): one per concurrently running task, reused from run to run.
struct GroupWorker {
  ErasureCoder coder;
  std::vector<Bytes> blocks;  // group g of the run, row r: blocks[g * (K + M) + r]
  std::vector<ByteView> parity;
  std::vector<Digest> digests, cell_roots;
};

class GroupWorkers {
 public:
  explicit GroupWorkers(const Encoding& e) : e_(e) {}
  Result<std::unique_ptr<GroupWorker>> acquire() {
    {
      std::lock_guard lock(mutex_);
      if (!free_.empty()) {
        auto worker = std::move(free_.back());
        free_.pop_back();
        return worker;
      }
    }
    CODEX_TRY_ASSIGN(auto coder, ErasureCoder::open(e_.backend, e_.layout.k, e_.layout.m, e_.block_size));
    auto worker = std::make_unique<GroupWorker>(GroupWorker{std::move(coder), {}, {}, {}, {}});
    worker->blocks.resize(groups_per_task(e_.layout) * (e_.layout.k + e_.layout.m), Bytes(e_.block_size));
    return worker;
  }
  void release(std::unique_ptr<GroupWorker> worker) {
    std::lock_guard lock(mutex_);
    free_.push_back(std::move(worker));
  }

 private:
  const Encoding& e_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<GroupWorker>> free_;
};

Status check_plain(const Manifest& manifest, const Cid& cid) {
  if (manifest.is_protected())
    return make_error(Errc::usage, "dataset '{}' is already protected (K={}, M={}); store its stream with codex-put as it is",
                      cid.to_string(), manifest.erasure->k, manifest.erasure->m);
  auto geometry = check_cell_geometry(manifest.block_size, kDefaultCellSize);
  if (!geometry)
    return make_error(Errc::usage, "dataset '{}' cannot be encoded: {}", cid.to_string(), geometry.error().message);
  return {};
}

Result<std::string> choose_backend(const std::string& asked) {
  if (!asked.empty()) return asked;
  return default_backend();
}

Status fill_padding(Encoding& e) {
  Bytes zeros(e.block_size, 0);
  const Digest zero_root = block_cell_root(zeros, kDefaultCellSize);
  for (std::uint64_t index = e.layout.blocks; index < e.layout.rounded; ++index) {
    e.leaves[index] = empty_digest();
    e.cell_roots[index] = zero_root;
  }
  return {};
}

Status write_padding(const Encoding& e, CarWriter& output) {
  const Cid empty = empty_block_cid();
  for (std::uint64_t index = e.layout.blocks; index < e.layout.rounded; ++index)
    CODEX_TRY(output.write_block(empty, ByteView()));
  return {};
}

// A run of groups: their data rows in, their parity rows coded, hashed (all
// the run's parity CIDs together) and placed.
Status code_run(Encoding& e, std::uint64_t first_group, std::size_t groups, GroupWorker& worker,
                const ReadData& read_data, const PutParity& put_parity) {
  const SteppedLayout& layout = e.layout;
  const std::uint32_t k = layout.k, m = layout.m;
  worker.parity.clear();
  for (std::size_t g = 0; g < groups; ++g) {
    const std::uint64_t group = first_group + g;
    Bytes* blocks = worker.blocks.data() + g * (k + m);
    std::uint8_t* rows[kMaxFragments];
    for (std::uint32_t row = 0; row < k + m; ++row) {
      Bytes& block = blocks[row];
      const std::uint64_t index = layout.index(group, row);
      if (row >= k) block.resize(e.block_size);
      else if (layout.is_padding(index)) block.assign(e.block_size, 0);
      else CODEX_TRY(read_data(index, block));
      rows[row] = block.data();
    }
    CODEX_TRY(worker.coder.encode(std::span<const std::uint8_t* const>(rows, k),
                                  std::span<std::uint8_t* const>(rows + k, m)));
    for (std::uint32_t j = 0; j < m; ++j) worker.parity.emplace_back(blocks[k + j]);
  }
  worker.digests.resize(worker.parity.size());
  worker.cell_roots.resize(worker.parity.size());
  block_digests_and_cell_roots(worker.parity, kDefaultCellSize, worker.digests, worker.cell_roots);
  for (std::size_t p = 0; p < worker.parity.size(); ++p) {
    const std::uint64_t index = layout.index(first_group + p / m, k + p % m);
    e.leaves[index] = worker.digests[p];
    e.cell_roots[index] = worker.cell_roots[p];
    CODEX_TRY(put_parity(index, e.leaves[index], worker.parity[p]));
  }
  return {};
}

// Pass 2: every group, on every core, a run of groups per task; the first
// error stops the rest. Sources that prefetch do so a batch of groups at a
// time; the others give every task out at once (no batch to wait for).
Status code_groups(Encoding& e, const ReadData& read_data, const PutParity& put_parity,
                   const Prefetch& prefetch = nullptr) {
  GroupWorkers workers(e);
  {
    auto probe = workers.acquire();  // fail early, with the backend's reason
    if (!probe) return std::move(probe).error();
    workers.release(std::move(*probe));
  }
  const std::uint64_t steps = e.layout.steps;
  const std::size_t run = groups_per_task(e.layout);
  const std::uint64_t per_batch =
      prefetch ? std::max<std::size_t>(run, kGroupBatchBytes / (e.layout.k * e.block_size) / run * run) : steps;
  std::atomic<bool> failed = false;
  std::mutex error_mutex;
  Status first_error;
  for (std::uint64_t first = 0; first < steps && !failed; first += per_batch) {
    const std::uint64_t count = std::min<std::uint64_t>(per_batch, steps - first);
    if (prefetch) CODEX_TRY(prefetch(first, static_cast<std::size_t>(count)));
    default_pool().for_each(static_cast<std::size_t>((count + run - 1) / run), [&](std::size_t task) {
      if (failed.load(std::memory_order_relaxed)) return;
      const std::uint64_t begin = first + task * run;
      const std::size_t groups = static_cast<std::size_t>(std::min<std::uint64_t>(run, first + count - begin));
      auto worker = workers.acquire();
      Status status = worker ? code_run(e, begin, groups, **worker, read_data, put_parity)
                             : Status(std::move(worker).error());
      if (worker) workers.release(std::move(*worker));
      if (status.ok()) return;
      std::lock_guard lock(error_mutex);
      if (!failed.exchange(true)) first_error = std::move(status);
    });
  }
  return first_error;
}

}  // namespace

std::size_t groups_per_task(const SteppedLayout& layout) {
  return std::max<std::size_t>(1, sha256_batch_width() / layout.m);
}

// The protected manifest, from the leaves and cell roots of every block.
Result<EncodeResult> describe(const Encoding& e, const Manifest& plain, const Cid& plain_cid, Bytes& encoded) {
  const SteppedLayout& layout = e.layout;
  ErasureInfo info;
  info.k = layout.k;
  info.m = layout.m;
  info.original_tree = plain.tree;
  info.original_dataset_size = plain.dataset_size;
  info.strategy = 1;
  info.backend = e.backend;
  info.cell_size = kDefaultCellSize;
  for (std::uint32_t slot = 0; slot < layout.slots(); ++slot) {
    CODEX_TRY_ASSIGN(Cid root, slot_root_cid(std::span<const Digest>(e.cell_roots.data() + layout.slot_begin(slot),
                                                                     layout.steps)));
    info.slot_roots.push_back(root);
  }
  CODEX_TRY_ASSIGN(info.verify_root, proving_root_cid(info.slot_roots));

  EncodeResult result;
  Manifest& manifest = result.manifest;
  CODEX_TRY_ASSIGN(Digest root, codex_tree_root(e.leaves));
  manifest.tree = Cid::from_digest(codec::root, root);
  manifest.block_size = e.block_size;
  manifest.dataset_size = layout.total * e.block_size;
  manifest.filename = plain.filename;
  manifest.mimetype = plain.mimetype;
  manifest.erasure = std::move(info);
  manifest.format = ManifestFormat::protected_v1;
  CODEX_TRY_ASSIGN(encoded, encode_manifest(manifest, ManifestFormat::protected_v1));
  result.manifest_cid = manifest_cid(encoded);
  result.original_cid = plain_cid;
  result.layout = layout;
  return result;
}

namespace {

// After pass 1 (header and data written): padding, pass 2, parity, manifest.
Result<EncodeResult> code_and_finish(Encoding& e, const ReadData& read_data, const Prefetch& prefetch,
                                     const Manifest& plain, const Cid& plain_cid, CarWriter& output,
                                     const std::string& spill_dir) {
  const SteppedLayout& layout = e.layout;
  const std::size_t bs = e.block_size;
  CODEX_TRY(write_padding(e, output));
  Bytes manifest_bytes;
  if (output.sink().can_write_at()) {
    // Every parity section has the same size: each goes straight to its place.
    CODEX_TRY(output.sink().flush());
    const std::uint64_t parity_start = output.bytes_written();
    const std::uint64_t section = CarWriter::section_size(Cid::from_digest(codec::block, Digest{}), bs);
    CODEX_TRY(code_groups(e, read_data, [&](std::uint64_t index, const Digest& digest, ByteView block) {
      return output.write_block_at(parity_start + (index - layout.rounded) * section,
                                   Cid::from_digest(codec::block, digest), block);
    }, prefetch));
    CODEX_TRY_ASSIGN(EncodeResult result, describe(e, plain, plain_cid, manifest_bytes));
    const std::uint64_t manifest_at = parity_start + (layout.total - layout.rounded) * section;
    CODEX_TRY(output.write_block_at(manifest_at, result.manifest_cid, manifest_bytes));
    return result;
  }

  // A pipe: the parity waits in a spill file, in index order.
  CODEX_TRY_ASSIGN(TempFile parity_spill, TempFile::create(spill_dir));
  CODEX_TRY(code_groups(e, read_data, [&](std::uint64_t index, const Digest&, ByteView block) {
    return parity_spill.write_at((index - layout.rounded) * bs, block);
  }, prefetch));
  const std::size_t per_read = std::max<std::size_t>(1, kOutputBatchBytes / bs);
  Bytes buffer(per_read * bs);
  const std::uint64_t parity_blocks = layout.total - layout.rounded;
  for (std::uint64_t first = 0; first < parity_blocks; first += per_read) {
    const std::size_t count = static_cast<std::size_t>(std::min<std::uint64_t>(per_read, parity_blocks - first));
    CODEX_TRY(parity_spill.read_at(first * bs, MutableByteView(buffer.data(), count * bs)));
    for (std::size_t i = 0; i < count; ++i) {
      const std::uint64_t index = layout.rounded + first + i;
      CODEX_TRY(output.write_block(Cid::from_digest(codec::block, e.leaves[index]),
                                   ByteView(buffer.data() + i * bs, bs)));
    }
  }
  CODEX_TRY_ASSIGN(EncodeResult result, describe(e, plain, plain_cid, manifest_bytes));
  CODEX_TRY(output.write_block(result.manifest_cid, manifest_bytes));
  return result;
}

}  // namespace

Result<Encoding> start(const Manifest& plain, const Cid& cid, std::uint64_t blocks, const EncodeOptions& options) {
  CODEX_TRY(check_plain(plain, cid));
  Encoding e;
  CODEX_TRY_ASSIGN(e.layout, SteppedLayout::make(blocks, options.k, options.m));
  CODEX_TRY_ASSIGN(e.backend, choose_backend(options.backend));
  e.block_size = static_cast<std::size_t>(plain.block_size);
  e.leaves.resize(e.layout.total);
  e.cell_roots.resize(e.layout.total);
  CODEX_TRY(fill_padding(e));
  return e;
}

Status write_header(CarWriter& output, const EncodeOptions& options) {
  const Cid placeholder[] = {manifest_root_placeholder()};
  return output.write_header(options.root_placeholder ? std::span<const Cid>(placeholder) : std::span<const Cid>());
}

namespace {

Status validate_options(const EncodeOptions& options) {
  // The geometry checks need no data: fail before reading a byte.
  CODEX_TRY(SteppedLayout::make(1, options.k, options.m));
  if (!options.backend.empty()) {
    auto available = available_backends();
    if (std::find(available.begin(), available.end(), options.backend) == available.end()) {
      std::string names;
      for (const auto& name : available) names += (names.empty() ? "" : ", ") + name;
      return make_error(Errc::usage, "backend '{}' is not available here (available: {})", options.backend, names);
    }
  }
  return {};
}

}  // namespace
}  // namespace encoder

using namespace encoder;

Result<EncodeResult> encode_stream(ByteSource& input, CarWriter& output, const EncodeOptions& options) {
  CODEX_TRY(validate_options(options));
  // A file into a file: one pass (encode_file.cpp), unless the file is not
  // a stream of blocks of one size (the passes below then say what it is).
  if (input.can_read_at() && output.sink().can_write_at() && output.bytes_written() == 0) {
    CODEX_TRY_ASSIGN(std::optional<EncodeResult> done, encode_file(input, output, options));
    if (done) return std::move(*done);
  }
  // Pass 2 reads the data blocks again from the input where it can, else
  // from the output, else from a spill file.
  const bool reread = input.can_read_at();
  const bool read_back = !reread && output.sink().can_read_back();
  std::optional<TempFile> data_spill;
  if (!reread && !read_back) {
    CODEX_TRY_ASSIGN(TempFile spill, TempFile::create(options.spill_dir));
    data_spill.emplace(std::move(spill));
  }
  // Where each block's bytes are in the input (reread) or the output
  // (read_back), and their fingerprints.
  std::vector<std::uint64_t> offsets, fingerprints;
  CODEX_TRY(write_header(output, options));
  std::vector<Digest> cell_roots;
  std::vector<Status> spill_status;
  std::size_t first_size = 0;
  CODEX_TRY_ASSIGN(CheckedDataset plain, read_dataset_stream(input, false, [&](std::span<const StreamBlock> blocks) -> Status {
    if (first_size == 0 && !blocks.empty()) first_size = blocks.front().data.size();
    for (const StreamBlock& block : blocks) {
      // Only erasure coding puts empty blocks (padding) in a stream: say what
      // the stream is at once, rather than after reading all of it.
      if (block.data.empty())
        return make_error(Errc::usage,
                          "the stream is a protected dataset's (block {} is an empty padding block, which only "
                          "erasure coding adds): it is already protected; store it with codex-put as it is",
                          block.index);
      if (block.data.size() != first_size || first_size % kDefaultCellSize != 0)
        return make_error(Errc::usage, "block {} is {} bytes: encoding needs blocks of one size, a multiple of {}",
                          block.index, block.data.size(), kDefaultCellSize);
    }
    // The cell roots came with the CID check (read_dataset_stream, given the cell size).
    const std::size_t base = cell_roots.size();
    for (const StreamBlock& block : blocks) cell_roots.push_back(block.cell_root);
    if (!data_spill) fingerprints.resize(base + blocks.size());
    // Fingerprints, or spill writes, on every core (block i at i * size).
    spill_status.assign(blocks.size(), Status());
    default_pool().for_each(blocks.size(), [&](std::size_t i) {
      const ByteView data = blocks[i].data;
      if (!data_spill) fingerprints[base + i] = block_fingerprint(data);
      else spill_status[i] = data_spill->write_at((base + i) * first_size, data);
    });
    for (const StreamBlock& block : blocks) {
      const Cid cid = Cid::from_digest(codec::block, block.digest);
      if (reread) offsets.push_back(block.offset);
      if (read_back) offsets.push_back(output.bytes_written() + CarWriter::section_size(cid, first_size) - first_size);
      CODEX_TRY(output.write_block(cid, block.data));
    }
    for (Status& status : spill_status) CODEX_TRY(status);
    return {};
  }, kDefaultCellSize));
  CODEX_TRY_ASSIGN(Encoding e, start(plain.manifest, plain.manifest_cid, plain.leaves.size(), options));
  std::copy(plain.leaves.begin(), plain.leaves.end(), e.leaves.begin());
  std::copy(cell_roots.begin(), cell_roots.end(), e.cell_roots.begin());
  const std::size_t bs = e.block_size;
  ReadData read_data = [&](std::uint64_t index, Bytes& out) -> Status {
    out.resize(bs);
    if (data_spill) return data_spill->read_at(index * bs, out);
    CODEX_TRY(reread ? input.read_at(offsets[index], out) : output.sink().read_back(offsets[index], out));
    if (block_fingerprint(out) != fingerprints[index])
      return make_error(Errc::io, "'{}' changed while it was being encoded: block {} reads differently the second time",
                        reread ? input.name() : output.sink().name(), index);
    return {};
  };
  return code_and_finish(e, read_data, nullptr, plain.manifest, plain.manifest_cid, output, options.spill_dir);
}

Result<EncodeResult> encode_stored(Repository& repository, BlockSource& source, const Cid& manifest_cid, CarWriter& output,
                                   const EncodeOptions& options) {
  CODEX_TRY(validate_options(options));
  CODEX_TRY_ASSIGN(DatasetRecord record, find_dataset(repository, manifest_cid));
  CODEX_TRY_ASSIGN(std::vector<Digest> leaves, repository.tree_leaves(record.manifest.tree));
  CODEX_TRY_ASSIGN(Encoding e, start(record.manifest, manifest_cid, leaves.size(), options));
  std::copy(leaves.begin(), leaves.end(), e.leaves.begin());
  CODEX_TRY(write_header(output, options));

  // Pass 1: data blocks out, in order, with their cell roots.
  const std::size_t bs = e.block_size;
  const std::size_t per_batch = std::max<std::size_t>(1, kOutputBatchBytes / bs);
  CODEX_TRY(read_batches(source, leaves, per_batch,
                         [&](std::size_t first, std::span<Bytes> blocks, std::span<Status> status) -> Status {
    for (auto& s : status) CODEX_TRY(s);
    default_pool().for_each(blocks.size(), [&](std::size_t i) {
      e.cell_roots[first + i] = block_cell_root(blocks[i], kDefaultCellSize);
    });
    for (std::size_t i = 0; i < blocks.size(); ++i)
      CODEX_TRY(output.write_block(Cid::from_digest(codec::block, leaves[first + i]), blocks[i]));
    return {};
  }));
  // Pass 2 fetches each batch's data rows on this thread (the repository's
  // sources are used from one thread at a time); the tasks take them from there.
  std::vector<Digest> wanted;
  std::vector<Bytes> fetched;
  std::vector<Status> fetched_status;
  std::uint64_t batch_first = 0;
  Prefetch prefetch = [&](std::uint64_t first_group, std::size_t groups) -> Status {
    batch_first = first_group;
    wanted.clear();
    for (std::size_t g = 0; g < groups; ++g)
      for (std::uint32_t row = 0; row < e.layout.k; ++row) wanted.push_back(e.leaves[e.layout.index(first_group + g, row)]);
    fetched.resize(std::max(fetched.size(), wanted.size()));
    fetched_status.resize(wanted.size());
    source.read_many(wanted, std::span<Bytes>(fetched.data(), wanted.size()), fetched_status);
    for (auto& status : fetched_status) CODEX_TRY(status);
    return {};
  };
  ReadData read_data = [&](std::uint64_t index, Bytes& out) -> Status {
    const std::size_t slot = (e.layout.group_of(index) - batch_first) * e.layout.k + e.layout.row_of(index);
    std::swap(out, fetched[slot]);  // no copy; the task's old buffer is reused by the next batch
    return {};
  };
  return code_and_finish(e, read_data, prefetch, record.manifest, manifest_cid, output, options.spill_dir);
}

}  // namespace codex
