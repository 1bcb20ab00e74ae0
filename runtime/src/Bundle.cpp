//===- Bundle.cpp - A bundle directory, validated -------------------------===//

#include "Bundle.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <sys/stat.h>

using namespace sieve;
using namespace sieve::rt;

namespace {
/// Bounds on what a bundle may make the runtime read into memory.
constexpr uint64_t kMaxManifestBytes = 16ull << 20;
constexpr uint64_t kMaxKernelFileBytes = 1ull << 30;
/// Weights: room for a large model's.
constexpr uint64_t kMaxConstantsFileBytes = 256ull << 30;

/// ELF header fields this file checks (System V ABI).
constexpr uint8_t kElfClass64 = 2;
constexpr uint8_t kElfLittleEndian = 1;
constexpr uint16_t kElfTypeShared = 3;
constexpr uint16_t kElfMachineCuda = 190;
#if defined(__x86_64__)
constexpr uint16_t kElfMachineHost = 62;
#elif defined(__aarch64__)
constexpr uint16_t kElfMachineHost = 183;
#else
constexpr uint16_t kElfMachineHost = 0; // unknown host: not checked
#endif

std::string getErrnoText() { return std::strerror(errno); }

/// The canonical path of `name` in `directory`, which must stay inside it
/// and be a regular file of at most `maxBytes`.
Status resolveFile(const std::string &directory, const std::string &name,
                   uint64_t maxBytes, std::string &path, uint64_t &size) {
  std::string joined = directory + "/" + name;
  char resolved[PATH_MAX];
  if (!realpath(joined.c_str(), resolved)) {
    if (errno == ENOENT)
      return invalidBundle("'" + name + "' is missing from the bundle ('" +
                           joined + "')");
    return Status(SIEVE_ERROR_IO,
                  "cannot resolve '" + joined + "': " + getErrnoText());
  }
  path = resolved;
  if (path.compare(0, directory.size() + 1, directory + "/") != 0)
    return invalidBundle("'" + name + "' resolves to '" + path +
                         "', outside the bundle directory");
  struct stat info;
  if (stat(path.c_str(), &info) != 0)
    return Status(SIEVE_ERROR_IO,
                  "cannot stat '" + path + "': " + getErrnoText());
  if (!S_ISREG(info.st_mode))
    return invalidBundle("'" + name + "' is not a regular file");
  size = static_cast<uint64_t>(info.st_size);
  if (size > maxBytes)
    return invalidBundle("'" + name + "' holds " + std::to_string(size) +
                         " bytes; at most " + std::to_string(maxBytes) +
                         " are allowed");
  return Status();
}

template <typename Container>
Status readFile(const std::string &path, uint64_t size, Container &contents) {
  std::ifstream file(path, std::ios::binary);
  if (!file)
    return Status(SIEVE_ERROR_IO,
                  "cannot open '" + path + "': " + getErrnoText());
  contents.resize(size);
  file.read(reinterpret_cast<char *>(contents.data()),
            static_cast<std::streamsize>(size));
  if (static_cast<uint64_t>(file.gcount()) != size)
    return Status(SIEVE_ERROR_IO, "cannot read '" + path + "'");
  return Status();
}

uint16_t readLittle16(const uint8_t *p) {
  return static_cast<uint16_t>(p[0] | p[1] << 8);
}

/// Checks the ELF identification and header fields of a kernel image.
Status checkElf(const std::string &name, const uint8_t *data, uint64_t size,
                uint16_t machine, bool sharedObject) {
  if (size < 64 || std::memcmp(data,
                               "\x7f"
                               "ELF",
                               4) != 0)
    return invalidBundle("'" + name + "' is not an ELF file");
  if (data[4] != kElfClass64 || data[5] != kElfLittleEndian)
    return invalidBundle("'" + name +
                         "' is not a 64-bit little-endian ELF file");
  uint16_t type = readLittle16(data + 16),
           fileMachine = readLittle16(data + 18);
  if (machine != 0 && fileMachine != machine)
    return invalidBundle(
        "'" + name + "' is an ELF file for machine " +
        std::to_string(fileMachine) + ", expected " + std::to_string(machine) +
        (machine == kElfMachineCuda ? " (CUDA)" : " (this host)"));
  if (sharedObject && type != kElfTypeShared)
    return invalidBundle("'" + name + "' is not a shared library (ELF type " +
                         std::to_string(type) + ")");
  return Status();
}

/// `ptx` without its // and /* */ comments, so that commented-out directives
/// do not count.
std::string stripPtxComments(const std::string &ptx) {
  std::string text;
  text.reserve(ptx.size());
  for (std::size_t i = 0; i < ptx.size(); ++i) {
    if (ptx.compare(i, 2, "//") == 0) {
      while (i < ptx.size() && ptx[i] != '\n')
        ++i;
      text.push_back('\n');
    } else if (ptx.compare(i, 2, "/*") == 0) {
      std::size_t end = ptx.find("*/", i + 2);
      i = end == std::string::npos ? ptx.size() : end + 1;
      text.push_back(' ');
    } else {
      text.push_back(ptx[i]);
    }
  }
  return text;
}

bool isPtxIdentifierChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
}

/// The identifier after each occurrence of the directive `directive`.
std::vector<std::string> getDirectiveArguments(const std::string &text,
                                               const std::string &directive) {
  std::vector<std::string> arguments;
  for (std::size_t pos = text.find(directive); pos != std::string::npos;
       pos = text.find(directive, pos + 1)) {
    std::size_t end = pos + directive.size();
    // A whole directive: not ".entryx", not "x.entry".
    if ((pos > 0 && isPtxIdentifierChar(text[pos - 1])) || end >= text.size() ||
        !std::isspace(static_cast<unsigned char>(text[end])))
      continue;
    while (end < text.size() &&
           std::isspace(static_cast<unsigned char>(text[end])))
      ++end;
    std::size_t start = end;
    while (end < text.size() && isPtxIdentifierChar(text[end]))
      ++end;
    if (end > start)
      arguments.push_back(text.substr(start, end - start));
  }
  return arguments;
}
} // namespace

std::vector<std::string> sieve::rt::getPtxEntries(const std::string &ptx) {
  return getDirectiveArguments(stripPtxComments(ptx), ".entry");
}

std::string sieve::rt::getPtxTarget(const std::string &ptx) {
  std::vector<std::string> targets =
      getDirectiveArguments(stripPtxComments(ptx), ".target");
  return targets.empty() ? std::string() : targets.front();
}

Status Bundle::open(const std::string &path,
                    std::shared_ptr<const Bundle> &result) {
  auto bundle = std::make_shared<Bundle>();
  char resolved[PATH_MAX];
  if (!realpath(path.c_str(), resolved))
    return Status(SIEVE_ERROR_IO,
                  "cannot open the bundle directory: " + getErrnoText());
  bundle->directory = resolved;
  struct stat info;
  if (stat(bundle->directory.c_str(), &info) != 0 || !S_ISDIR(info.st_mode))
    return Status(SIEVE_ERROR_IO, "not a directory");

  std::string filePath;
  uint64_t size;
  Status status = resolveFile(bundle->directory, "manifest.json",
                              kMaxManifestBytes, filePath, size);
  if (status.getCode() == SIEVE_ERROR_INVALID_BUNDLE &&
      status.getMessage().find("is missing") != std::string::npos)
    return invalidBundle("not a bundle: it has no manifest.json");
  SIEVE_RETURN_IF_ERROR(std::move(status));
  std::string manifestText;
  SIEVE_RETURN_IF_ERROR(readFile(filePath, size, manifestText));
  SIEVE_RETURN_IF_ERROR(parseManifest(manifestText, bundle->manifest));
  const Manifest &manifest = bundle->manifest;

  // kernels.ptx: every kernel is an .entry, for the manifest's target.
  SIEVE_RETURN_IF_ERROR(resolveFile(bundle->directory, manifest.ptxFile,
                                    kMaxKernelFileBytes, filePath, size));
  SIEVE_RETURN_IF_ERROR(readFile(filePath, size, bundle->ptx));
  if (bundle->ptx.find('\0') != std::string::npos)
    return invalidBundle("'" + manifest.ptxFile +
                         "' is not PTX text (it contains NUL bytes)");
  std::string ptxTarget = getPtxTarget(bundle->ptx);
  if (ptxTarget.empty())
    return invalidBundle("'" + manifest.ptxFile +
                         "' has no .target directive; is it PTX?");
  if (ptxTarget != manifest.targetName)
    return invalidBundle("'" + manifest.ptxFile + "' targets " + ptxTarget +
                         ", the manifest says " + manifest.targetName);
  std::vector<std::string> entries = getPtxEntries(bundle->ptx);
  std::set<std::string> entrySet(entries.begin(), entries.end());
  for (const KernelSpec &kernel : manifest.kernels)
    if (!entrySet.count(kernel.name))
      return invalidBundle("kernel '" + kernel.name +
                           "' is not an .entry of '" + manifest.ptxFile + "'");

  if (manifest.cubinFile) {
    SIEVE_RETURN_IF_ERROR(resolveFile(bundle->directory, *manifest.cubinFile,
                                      kMaxKernelFileBytes, filePath, size));
    SIEVE_RETURN_IF_ERROR(readFile(filePath, size, bundle->cubin));
    SIEVE_RETURN_IF_ERROR(checkElf(*manifest.cubinFile, bundle->cubin.data(),
                                   size, kElfMachineCuda,
                                   /*sharedObject=*/false));
  }

  SIEVE_RETURN_IF_ERROR(resolveFile(bundle->directory, manifest.emulatorFile,
                                    kMaxKernelFileBytes, bundle->emulatorPath,
                                    size));
  std::vector<uint8_t> header;
  SIEVE_RETURN_IF_ERROR(
      readFile(bundle->emulatorPath, std::min<uint64_t>(size, 64), header));
  SIEVE_RETURN_IF_ERROR(checkElf(manifest.emulatorFile, header.data(),
                                 header.size(), kElfMachineHost,
                                 /*sharedObject=*/true));

  if (manifest.constantsFile) {
    SIEVE_RETURN_IF_ERROR(resolveFile(bundle->directory,
                                      *manifest.constantsFile,
                                      kMaxConstantsFileBytes, filePath, size));
    for (const BufferSpec &buffer : manifest.buffers) {
      if (buffer.kind != BufferKind::Constant)
        continue;
      // Both are integers in [0, INT64_MAX] (checked by the manifest parser).
      auto offset = static_cast<uint64_t>(*buffer.offset.getConstant());
      auto bytes = static_cast<uint64_t>(*buffer.bytes.getConstant());
      if (offset > size || bytes > size - offset)
        return invalidBundle("constant buffer '" + buffer.name +
                             "' (bytes " + std::to_string(bytes) +
                             " at offset " + std::to_string(offset) +
                             ") lies outside '" + *manifest.constantsFile +
                             "' (" + std::to_string(size) + " bytes)");
    }
    SIEVE_RETURN_IF_ERROR(readFile(filePath, size, bundle->constants));
  }

  // Filled in place: the sieve_dim entries point into the strings beside
  // them.
  auto makeDims = [](const std::vector<TensorSpec> &tensors,
                     std::vector<DimView> &views) {
    views.resize(tensors.size());
    for (std::size_t t = 0; t < tensors.size(); ++t) {
      DimView &view = views[t];
      for (const DimSpec &dim : tensors[t].shape)
        view.texts.push_back(dim.size ? std::string() : dim.expr.getText());
      for (std::size_t i = 0; i < view.texts.size(); ++i) {
        const DimSpec &dim = tensors[t].shape[i];
        view.dims.push_back({dim.size ? *dim.size : -1,
                             dim.size ? nullptr : view.texts[i].c_str()});
      }
    }
  };
  makeDims(manifest.inputs, bundle->inputDims);
  makeDims(manifest.outputs, bundle->outputDims);
  result = std::move(bundle);
  return Status();
}
