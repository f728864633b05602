// Private to libcore: the pieces of manifest coding shared between
// manifest.cpp (formats A, B, C and the dispatch) and protected_manifest.cpp
// (format P, docs/protected-manifest.md).
#pragma once

#include "codex/manifest.hpp"
#include "codex/protobuf.hpp"

namespace codex {

// The outer message: field 1 is a plain header (A, B, C), field 2 a protected one (P).
inline constexpr std::uint32_t kOuterPlainHeader = 1;
inline constexpr std::uint32_t kOuterProtectedHeader = 2;

// Format P: the whole encoded manifest, and the decoding of its header (outer field 2).
Result<Bytes> encode_protected_manifest(const Manifest& manifest);
Result<Manifest> decode_protected_header(const protobuf::Field& header);

// Every rule a protected manifest obeys (docs/protected-manifest.md, "Semantics");
// a failure is an Error with `code` and the reason.
Status check_protected_manifest(const Manifest& manifest, Errc code);

// "zDz... (codex-root)", or "none" for an empty Cid: how errors show a CID.
std::string describe_cid(const Cid& cid);

}  // namespace codex
