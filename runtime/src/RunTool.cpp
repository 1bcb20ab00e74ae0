//===- RunTool.cpp - What the run tools share -----------------------------===//

#include "sieve/RunTool.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

using namespace sieve;

void sieve::getDefaultRandomRange(DType dtype, int64_t &lo, int64_t &hi) {
  lo = 0, hi = 15;
  if (dtype == DType::I8)
    lo = -127, hi = 127;
  else if (dtype == DType::I4)
    lo = -7, hi = 7;
}

double sieve::getTypicalQuantScale(double qmax, int64_t k) {
  return 3.0 / (qmax * std::sqrt(static_cast<double>(std::max<int64_t>(k, 1))));
}

std::string sieve::formatShape(const std::vector<int64_t> &shape) {
  std::string text;
  for (std::size_t i = 0; i < shape.size(); ++i)
    text += (i ? "x" : "") +
            (shape[i] < 0 ? std::string("?") : std::to_string(shape[i]));
  return "[" + text + "]";
}

std::string sieve::formatTensorType(const std::vector<int64_t> &shape,
                                    DType dtype) {
  std::string text = "tensor<";
  for (int64_t size : shape)
    text += (size < 0 ? std::string("?") : std::to_string(size)) + "x";
  return text + getDTypeName(dtype) + ">";
}

bool sieve::readInputFiles(const std::string &entry,
                           const std::vector<std::string> &files,
                           const std::vector<ArgumentSpec> &specs,
                           std::vector<HostTensor> &inputs,
                           std::string &error) {
  if (files.size() != specs.size()) {
    error = "@" + entry + " takes " + std::to_string(specs.size()) +
            " argument(s), got " + std::to_string(files.size()) +
            " --input file(s)";
    return false;
  }
  for (std::size_t index = 0; index < specs.size(); ++index) {
    const ArgumentSpec &spec = specs[index];
    std::string what = "argument " + std::to_string(index) + " of @" + entry +
                       " (" + spec.typeText + ")";
    HostTensor tensor;
    std::string readError;
    if (!readNpy(files[index], spec.dtype, tensor, readError)) {
      error = what + ": " + readError;
      return false;
    }
    bool matches = tensor.shape.size() == spec.shape.size();
    for (std::size_t dim = 0; matches && dim < spec.shape.size(); ++dim)
      matches = spec.shape[dim] < 0 || spec.shape[dim] == tensor.shape[dim];
    if (!matches) {
      error = what + ": '" + files[index] + "' has shape " +
              formatShape(tensor.shape) + ", expected " +
              formatShape(spec.shape);
      return false;
    }
    inputs.push_back(std::move(tensor));
  }
  return true;
}

bool sieve::makeRandomInputs(const std::vector<ArgumentSpec> &specs,
                             uint64_t seed, int64_t dynamicSize,
                             std::vector<HostTensor> &inputs,
                             std::string &error) {
  RandomSource random(seed);
  for (std::size_t index = 0; index < specs.size(); ++index) {
    const ArgumentSpec &spec = specs[index];
    std::vector<int64_t> shape;
    for (int64_t size : spec.shape) {
      if (size < 0 && dynamicSize < 0) {
        error = "argument " + std::to_string(index) + " (" + spec.typeText +
                ") has dynamic dimensions: give their size with "
                "--dynamic-size when using --random-inputs";
        return false;
      }
      shape.push_back(size < 0 ? dynamicSize : size);
    }
    HostTensor tensor(spec.dtype, shape);
    fillRandom(tensor, random, spec.randomLo, spec.randomHi);
    // Scales overwrite the uniform values, drawing after them, so that the
    // stream of draws is the same whether or not an argument is a scale.
    if (spec.randomScale && spec.dtype == DType::F32) {
      auto *values = reinterpret_cast<float *>(tensor.data.data());
      for (int64_t i = 0, e = tensor.numElements(); i < e; ++i)
        values[i] =
            static_cast<float>(*spec.randomScale * random.uniform(0.5, 1.5));
    }
    inputs.push_back(std::move(tensor));
  }
  return true;
}

bool sieve::writeOutputs(const std::string &directory,
                         const std::vector<HostTensor> &outputs,
                         std::string &error) {
  std::error_code code;
  std::filesystem::create_directories(directory, code);
  if (code) {
    error = "cannot create '" + directory + "': " + code.message();
    return false;
  }
  for (std::size_t index = 0; index < outputs.size(); ++index) {
    std::string path = (std::filesystem::path(directory) /
                        ("out" + std::to_string(index) + ".npy"))
                           .string();
    if (!writeNpy(path, outputs[index], error))
      return false;
  }
  return true;
}

std::string
sieve::formatOutputSummaries(const std::vector<HostTensor> &outputs) {
  std::string text;
  for (std::size_t index = 0; index < outputs.size(); ++index)
    text += "out" + std::to_string(index) + ": " +
            formatSummary(outputs[index]) + "\n";
  return text;
}

double sieve::getMedian(std::vector<double> values) {
  if (values.empty())
    return std::numeric_limits<double>::quiet_NaN();
  std::sort(values.begin(), values.end());
  std::size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}
