// The mimetype an upload gets from its file name, as Codex gives it: by the
// last extension, looked up case-insensitively in Nim's std/mimetypes table.
// The values below are that table's, quirks included (".mp3" is "audio/mp3",
// ".wav" "audio/wave", ".xml" "text/xml"), so a manifest made here matches one
// a Codex node makes for the same file. Only common extensions are listed; an
// unlisted, missing or empty extension gives none, where Codex also records none.
#include <algorithm>
#include <string>
#include <string_view>

#include "codex/manifest.hpp"

namespace codex {

namespace {

struct MimeEntry {
  std::string_view extension;
  std::string_view mimetype;
};

constexpr MimeEntry kMimetypes[] = {
    {"7z", "application/x-7z-compressed"},
    {"aac", "audio/x-aac"},
    {"avi", "video/x-msvideo"},
    {"bin", "application/octet-stream"},
    {"bmp", "image/bmp"},
    {"bz2", "application/x-bzip2"},
    {"c", "text/x-csrc"},
    {"cpp", "text/x-c++src"},
    {"css", "text/css"},
    {"csv", "text/csv"},
    {"deb", "application/vnd.debian.binary-package"},
    {"doc", "application/msword"},
    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"epub", "application/epub+zip"},
    {"flac", "audio/x-flac"},
    {"flv", "video/x-flv"},
    {"gif", "image/gif"},
    {"go", "text/go"},
    {"gz", "application/gzip"},
    {"h", "text/x-chdr"},
    {"heic", "image/heic"},
    {"html", "text/html"},
    {"ico", "image/x-icon"},
    {"iso", "application/x-iso9660-image"},
    {"jar", "application/x-java-archive"},
    {"java", "text/x-java-source"},
    {"jpeg", "image/jpeg"},
    {"jpg", "image/jpeg"},
    {"js", "application/javascript"},
    {"json", "application/json"},
    {"log", "text/plain"},
    {"m4a", "audio/x-m4a"},
    {"markdown", "text/markdown"},
    {"md", "text/markdown"},
    {"mid", "audio/midi"},
    {"mjs", "application/javascript"},
    {"mkv", "video/x-matroska"},
    {"mov", "video/quicktime"},
    {"mp3", "audio/mp3"},
    {"mp4", "video/mp4"},
    {"mpeg", "video/mpeg"},
    {"mpg", "video/mpeg"},
    {"nim", "text/nim"},
    {"odp", "application/vnd.oasis.opendocument.presentation"},
    {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
    {"odt", "application/vnd.oasis.opendocument.text"},
    {"oga", "audio/ogg"},
    {"ogg", "audio/ogg"},
    {"ogv", "video/ogg"},
    {"opus", "audio/ogg"},
    {"otf", "font/otf"},
    {"pdf", "application/pdf"},
    {"png", "image/png"},
    {"ppt", "application/vnd.ms-powerpoint"},
    {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
    {"ps", "application/postscript"},
    {"rar", "application/x-rar-compressed"},
    {"rtf", "text/rtf"},
    {"sh", "application/x-sh"},
    {"svg", "image/svg+xml"},
    {"tar", "application/x-tar"},
    {"text", "text/plain"},
    {"tgz", "application/gzip"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"toml", "text/toml"},
    {"tsv", "text/tab-separated-values"},
    {"ttf", "font/ttf"},
    {"txt", "text/plain"},
    {"wasm", "application/wasm"},
    {"wav", "audio/wave"},
    {"weba", "audio/webm"},
    {"webm", "video/webm"},
    {"webp", "image/webp"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"xls", "application/vnd.ms-excel"},
    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"xml", "text/xml"},
    {"xz", "application/x-xz"},
    {"yaml", "text/yaml"},
    {"yml", "text/yaml"},
    {"zip", "application/zip"},
};

static_assert(std::is_sorted(std::begin(kMimetypes), std::end(kMimetypes),
                             [](const MimeEntry& a, const MimeEntry& b) { return a.extension < b.extension; }),
              "kMimetypes must stay sorted for the binary search");

constexpr std::size_t kMaxExtension = 16;

}  // namespace

std::optional<std::string> mimetype_for_filename(std::string_view filename) {
  // Nim's splitFile: the extension follows the last dot of the last path
  // component, and a leading dot (".bashrc") starts a name, not an extension.
  const std::size_t slash = filename.find_last_of('/');
  const std::string_view name = slash == std::string_view::npos ? filename : filename.substr(slash + 1);
  const std::size_t dot = name.find_last_of('.');
  if (dot == std::string_view::npos || dot == 0) return std::nullopt;
  const std::string_view extension = name.substr(dot + 1);
  if (extension.empty() || extension.size() > kMaxExtension) return std::nullopt;

  std::string lower(extension);
  for (char& c : lower)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  const auto it = std::lower_bound(std::begin(kMimetypes), std::end(kMimetypes), lower,
                                   [](const MimeEntry& e, const std::string& ext) { return e.extension < ext; });
  if (it == std::end(kMimetypes) || it->extension != lower) return std::nullopt;
  return std::string(it->mimetype);
}

}  // namespace codex
