// Encoding a plain dataset into a protected one.
//
// Pass 1 streams the data blocks through: each is checked, given its cell
// root (for the slot trees), written out, and kept for pass 2, in a spill file
// when it came from a pipe. Pass 2 codes the EC groups a batch at a time on
// every core (group s = rows s, s+steps, ...: scattered over the whole
// dataset, hence the spill) and spills the parity in index order; pass 3
// writes the parity out and, last, the manifest. Memory holds a few batches
// and the per-block digests, whatever the dataset size.
#include "codex/encode.hpp"

#include <mutex>

#include "codex/block_source.hpp"
#include "codex/codex_tree.hpp"
#include "codex/dataset.hpp"
#include "codex/erasure.hpp"
#include "codex/parallel.hpp"
#include "codex/storage_proof.hpp"
#include "dataset_stream.hpp"
#include "temp_file.hpp"

namespace codex {
namespace {

constexpr std::size_t kGroupBatchBytes = 16 << 20;
constexpr std::size_t kOutputBatchBytes = 4 << 20;

// One coder per concurrently running task (liberasurecode instances are not shared).
class CoderPool {
 public:
  CoderPool(std::string backend, std::uint32_t k, std::uint32_t m, std::size_t block_size)
      : backend_(std::move(backend)), k_(k), m_(m), block_size_(block_size) {}
  Result<std::unique_ptr<ErasureCoder>> acquire() {
    {
      std::lock_guard lock(mutex_);
      if (!free_.empty()) {
        auto coder = std::move(free_.back());
        free_.pop_back();
        return coder;
      }
    }
    CODEX_TRY_ASSIGN(auto coder, ErasureCoder::open(backend_, k_, m_, block_size_));
    return std::make_unique<ErasureCoder>(std::move(coder));
  }
  void release(std::unique_ptr<ErasureCoder> coder) {
    std::lock_guard lock(mutex_);
    free_.push_back(std::move(coder));
  }

 private:
  std::string backend_;
  std::uint32_t k_, m_;
  std::size_t block_size_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<ErasureCoder>> free_;
};

// What the passes share: geometry, the digests and cell roots of every block.
struct Encoding {
  SteppedLayout layout;
  std::size_t block_size = 0;
  std::string backend;
  std::vector<Digest> leaves;      // all `total` leaves
  std::vector<Digest> cell_roots;  // all `total` block cell roots
};

Status check_plain(const Manifest& manifest, const Cid& cid) {
  if (manifest.is_protected())
    return make_error(Errc::usage, "dataset '{}' is already protected (K={}, M={})", cid.to_string(),
                      manifest.erasure->k, manifest.erasure->m);
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

// Pass 2: code every group; parity (group s, parity row j) goes to
// parity_spill at ((j * steps) + s) * block_size, i.e. in index order.
Status code_groups(Encoding& e, const std::function<Status(std::uint64_t index, Bytes& out)>& read_data,
                   TempFile& parity_spill) {
  const SteppedLayout& layout = e.layout;
  const std::size_t bs = e.block_size;
  CoderPool coders(e.backend, layout.k, layout.m, bs);
  {
    auto probe = coders.acquire();  // fail early, with the backend's reason
    if (!probe) return std::move(probe).error();
    coders.release(std::move(*probe));
  }
  const std::size_t per_group = static_cast<std::size_t>(layout.k + layout.m) * bs;
  const std::size_t groups_per_batch = std::max<std::size_t>(1, kGroupBatchBytes / per_group);
  std::vector<Bytes> data(groups_per_batch * layout.k), parity(groups_per_batch * layout.m);
  for (auto& p : parity) p.resize(bs);
  std::vector<Status> status(groups_per_batch);
  for (std::uint64_t first = 0; first < layout.steps; first += groups_per_batch) {
    const std::size_t groups = static_cast<std::size_t>(std::min<std::uint64_t>(groups_per_batch, layout.steps - first));
    for (std::size_t g = 0; g < groups; ++g)
      for (std::uint32_t row = 0; row < layout.k; ++row) {
        const std::uint64_t index = layout.index(first + g, row);
        Bytes& block = data[g * layout.k + row];
        if (layout.is_padding(index)) block.assign(bs, 0);
        else CODEX_TRY(read_data(index, block));
      }
    default_pool().for_each(groups, [&](std::size_t g) {
      auto coder = coders.acquire();
      if (!coder) {
        status[g] = std::move(coder).error();
        return;
      }
      std::vector<const std::uint8_t*> in(layout.k);
      std::vector<std::uint8_t*> out(layout.m);
      for (std::uint32_t row = 0; row < layout.k; ++row) in[row] = data[g * layout.k + row].data();
      for (std::uint32_t j = 0; j < layout.m; ++j) out[j] = parity[g * layout.m + j].data();
      status[g] = (*coder)->encode(in, out);
      coders.release(std::move(*coder));
      if (!status[g].ok()) return;
      for (std::uint32_t j = 0; j < layout.m; ++j) {
        const std::uint64_t index = layout.index(first + g, layout.k + j);
        e.leaves[index] = sha256(parity[g * layout.m + j]);
        e.cell_roots[index] = block_cell_root(parity[g * layout.m + j], kDefaultCellSize);
      }
    });
    for (std::size_t g = 0; g < groups; ++g) {
      CODEX_TRY(status[g]);
      for (std::uint32_t j = 0; j < layout.m; ++j) {
        const std::uint64_t offset = (static_cast<std::uint64_t>(j) * layout.steps + first + g) * bs;
        CODEX_TRY(parity_spill.write_at(offset, parity[g * layout.m + j]));
      }
    }
  }
  return {};
}

// Pass 3: the parity blocks in index order, then the manifest.
Result<EncodeResult> finish(Encoding& e, TempFile& parity_spill, const Manifest& plain, const Cid& plain_cid,
                            CarWriter& output) {
  const SteppedLayout& layout = e.layout;
  const std::size_t bs = e.block_size;
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
  manifest.block_size = bs;
  manifest.dataset_size = layout.total * bs;
  manifest.filename = plain.filename;
  manifest.mimetype = plain.mimetype;
  manifest.erasure = std::move(info);
  manifest.format = ManifestFormat::protected_v1;
  CODEX_TRY_ASSIGN(Bytes encoded, encode_manifest(manifest, ManifestFormat::protected_v1));
  result.manifest_cid = manifest_cid(encoded);
  CODEX_TRY(output.write_block(result.manifest_cid, encoded));
  result.original_cid = plain_cid;
  result.layout = layout;
  return result;
}

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

Result<EncodeResult> encode_stream(ByteSource& input, CarWriter& output, const EncodeOptions& options) {
  CODEX_TRY(validate_options(options));
  CODEX_TRY_ASSIGN(TempFile data_spill, TempFile::create(options.spill_dir));
  CODEX_TRY(write_header(output, options));
  std::vector<Digest> cell_roots;
  std::uint64_t spilled = 0;
  std::size_t first_size = 0;
  CODEX_TRY_ASSIGN(CheckedDataset plain, read_dataset_stream(input, false, [&](std::span<const StreamBlock> blocks) -> Status {
    if (first_size == 0 && !blocks.empty()) first_size = blocks.front().data.size();
    for (const StreamBlock& block : blocks)
      if (block.data.size() != first_size || first_size % kDefaultCellSize != 0)
        return make_error(Errc::usage, "block {} is {} bytes: encoding needs blocks of one size, a multiple of {}",
                          block.index, block.data.size(), kDefaultCellSize);
    const std::size_t base = cell_roots.size();
    cell_roots.resize(base + blocks.size());
    default_pool().for_each(blocks.size(), [&](std::size_t i) {
      cell_roots[base + i] = block_cell_root(blocks[i].data, kDefaultCellSize);
    });
    for (const StreamBlock& block : blocks) {
      CODEX_TRY(output.write_block(Cid::from_digest(codec::block, block.digest), block.data));
      CODEX_TRY(data_spill.write_at(spilled, block.data));
      spilled += block.data.size();
    }
    return {};
  }));
  CODEX_TRY_ASSIGN(Encoding e, start(plain.manifest, plain.manifest_cid, plain.leaves.size(), options));
  std::copy(plain.leaves.begin(), plain.leaves.end(), e.leaves.begin());
  std::copy(cell_roots.begin(), cell_roots.end(), e.cell_roots.begin());
  CODEX_TRY(write_padding(e, output));
  CODEX_TRY_ASSIGN(TempFile parity_spill, TempFile::create(options.spill_dir));
  const std::size_t bs = e.block_size;
  CODEX_TRY(code_groups(e, [&](std::uint64_t index, Bytes& out) -> Status {
    out.resize(bs);
    return data_spill.read_at(index * bs, out);
  }, parity_spill));
  return finish(e, parity_spill, plain.manifest, plain.manifest_cid, output);
}

Result<EncodeResult> encode_stored(Repository& repository, const Cid& manifest_cid, CarWriter& output,
                                   const EncodeOptions& options) {
  CODEX_TRY(validate_options(options));
  CODEX_TRY_ASSIGN(DatasetRecord record, find_dataset(repository, manifest_cid));
  CODEX_TRY_ASSIGN(std::vector<Digest> leaves, repository.tree_leaves(record.manifest.tree));
  CODEX_TRY_ASSIGN(Encoding e, start(record.manifest, manifest_cid, leaves.size(), options));
  std::copy(leaves.begin(), leaves.end(), e.leaves.begin());
  auto source = repository_source(repository);
  CODEX_TRY(write_header(output, options));

  // Pass 1: data blocks out, in order, with their cell roots.
  const std::size_t bs = e.block_size;
  const std::size_t per_batch = std::max<std::size_t>(1, kOutputBatchBytes / bs);
  std::vector<Bytes> blocks(per_batch);
  std::vector<Status> status(per_batch);
  for (std::uint64_t first = 0; first < leaves.size(); first += per_batch) {
    const std::size_t count = static_cast<std::size_t>(std::min<std::uint64_t>(per_batch, leaves.size() - first));
    source->read_many(std::span<const Digest>(leaves.data() + first, count), std::span<Bytes>(blocks.data(), count),
                      std::span<Status>(status.data(), count));
    for (std::size_t i = 0; i < count; ++i) CODEX_TRY(status[i]);
    default_pool().for_each(count, [&](std::size_t i) {
      e.cell_roots[first + i] = block_cell_root(blocks[i], kDefaultCellSize);
    });
    for (std::size_t i = 0; i < count; ++i)
      CODEX_TRY(output.write_block(Cid::from_digest(codec::block, leaves[first + i]), blocks[i]));
  }
  CODEX_TRY(write_padding(e, output));
  CODEX_TRY_ASSIGN(TempFile parity_spill, TempFile::create(options.spill_dir));
  CODEX_TRY(code_groups(e, [&](std::uint64_t index, Bytes& out) { return source->read(leaves[index], out); },
                        parity_spill));
  return finish(e, parity_spill, record.manifest, manifest_cid, output);
}

}  // namespace codex
