//===- BundleRunner.cpp - Run a bundle like sieve-run runs a graph --------===//
//
// Built on the public API only (runtime.hpp and RunTool.h): what works here
// works for any user of the runtime.
//
//===----------------------------------------------------------------------===//

#include "sieve/BundleRunner.h"

#include "sieve/RunTool.h"
#include "sieve/runtime.hpp"

#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <ostream>

using namespace sieve;

namespace {
/// printf into a std::string.
template <typename... Args>
std::string format(const char *pattern, Args... args) {
  int length = std::snprintf(nullptr, 0, pattern, args...);
  std::string text(static_cast<std::size_t>(std::max(length, 0)), '\0');
  std::snprintf(text.data(), text.size() + 1, pattern, args...);
  return text;
}

bool parseUnsigned(const std::string &text, uint64_t &value) {
  if (text.empty() || text.size() > 20)
    return false;
  value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return false;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10)
      return false;
    value = value * 10 + digit;
  }
  return true;
}

/// The ArgumentSpecs of the bundle's inputs for random or .npy inputs.
std::vector<ArgumentSpec> getArgumentSpecs(const runtime::Bundle &bundle,
                                           bool random, int64_t dynamicSize) {
  std::vector<ArgumentSpec> specs;
  std::vector<runtime::TensorInfo> inputs = bundle.getInputs();
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    ArgumentSpec spec;
    spec.dtype = inputs[i].dtype;
    for (const runtime::Dim &dim : inputs[i].shape)
      spec.shape.push_back(dim.size);
    spec.typeText = formatTensorType(spec.shape, spec.dtype);
    getDefaultRandomRange(spec.dtype, spec.randomLo, spec.randomHi);
    if (random) {
      sieve_random_hint hint;
      runtime::detail::check(sieve_bundle_get_random_hint(
          bundle.get(), static_cast<int64_t>(i), dynamicSize, &hint));
      if (hint.kind == SIEVE_RANDOM_INT_RANGE) {
        spec.randomLo = hint.min;
        spec.randomHi = hint.max;
      } else if (hint.kind == SIEVE_RANDOM_QUANT_SCALE) {
        spec.randomScale = hint.scale;
      }
    }
    specs.push_back(std::move(spec));
  }
  return specs;
}

void printStats(runtime::Session &session, const runtime::Bundle &bundle,
                const runtime::Device &device, std::ostream &out) {
  out << "device: " << device.getName() << "\n";
  out << "kernels: " << session.getKernelSource() << "\n";
  for (int64_t l = 0; l < bundle.getNumLaunches(); ++l) {
    sieve_launch_info info = session.getLaunchInfo(l);
    std::string time = info.skipped == 2 ? "skipped (reused: inputs unchanged)"
                       : info.skipped    ? "skipped (empty grid)"
                       : std::isnan(info.milliseconds)
                           ? "not timed"
                           : format("%.3f ms", info.milliseconds);
    out << format("launch %" PRId64 ": %s (%s) grid %ux%ux%u block %ux%ux%u "
                  "dynamic_shared %" PRIu64 ": %s",
                  l, info.kernel, info.op, info.grid[0], info.grid[1],
                  info.grid[2], info.block[0], info.block[1], info.block[2],
                  info.dynamic_shared_bytes, time.c_str());
    if (device.getKind() == SIEVE_DEVICE_EMULATOR && !info.skipped)
      out << format(", blocks %" PRIu64 " threads %" PRIu64 " barriers %" PRIu64
                    " collectives %" PRIu64 " work_units %" PRIu64,
                    info.emulator_blocks, info.emulator_threads,
                    info.emulator_barriers, info.emulator_collectives,
                    info.emulator_work_units);
    out << "\n";
  }
  out << format("schedule: %.3f ms\n", session.getRunTime());
  for (int64_t g = 0; g < bundle.getNumGates(); ++g) {
    sieve_gate_stats stats = session.getGateStats(g);
    out << format("gate %" PRId64 " (%s): tokens %" PRId64 " active %" PRId64
                  " active_token_ratio %.6g mean_score_entropy_bits %.6g "
                  "nan_scores %" PRId64 "\n",
                  g, stats.op, stats.tokens, stats.active_tokens,
                  stats.active_token_ratio, stats.mean_score_entropy_bits,
                  stats.nan_scores);
  }
}
} // namespace

std::string sieve::getBundleRunUsage(const std::string &tool) {
  return tool +
         ": run a Sieve kernel bundle on a CUDA GPU or the SIMT emulator\n\n"
         "  " +
         tool +
         " BUNDLE_DIR [--device cuda[:N]|emulator|auto]\n"
         "      (--input A.npy --input B.npy ... [--permuted-input N=P,...] |\n"
         "       --random-inputs SEED [--dynamic-size N])\n"
         "      [--output-dir DIR] [--print-summary] [--repeat N] [--stats] "
         "[--cuda-graph]\n"
         "      [--emulator-schedule-seed S] [--emulator-check-races]\n\n"
         "Inputs bind positionally to the bundle's inputs and are checked "
         "against its manifest; dynamic dimensions take their sizes from the "
         "inputs. Results are written as DIR/out0.npy, DIR/out1.npy, ...\n\n"
         "  --device D          cuda (the default, GPU 0), cuda:N, emulator, "
         "or auto\n"
         "                      (cuda where a driver and a GPU are present, "
         "else the emulator)\n"
         "  --input FILE        a .npy file per input, in order\n"
         "  --permuted-input N=P0,P1,...\n"
         "                      input N's file holds the tensor with its "
         "dimensions in the\n"
         "                      order P0, P1, ... (0,2,1,3: a [B,S,H,D] file "
         "for a [B,H,S,D]\n"
         "                      input); it is bound as a strided view of the "
         "file's data\n"
         "  --random-inputs S   reproducible random inputs from seed S, as "
         "sieve-run makes them\n"
         "  --dynamic-size N    with --random-inputs: the size of every "
         "dynamic dimension\n"
         "  --output-dir DIR    write the outputs as .npy files into DIR\n"
         "  --print-summary     print shape, dtype, min, max, mean and a "
         "checksum per output\n"
         "  --repeat N          run N times; print the load time and the "
         "median run time\n"
         "  --stats             print per-launch times and the gates' "
         "statistics of the last run\n"
         "  --cuda-graph        capture the schedule into a CUDA graph\n"
         "  --emulator-schedule-seed S\n"
         "                      emulator: start a block's threads in a random "
         "order from seed S after each barrier (0: in order)\n"
         "  --emulator-check-races\n"
         "                      emulator: report shared-memory races between "
         "barriers\n\n"
         ".npy dtypes: f32 <-> float32, f16 <-> float16, i64 <-> int64, i32 "
         "<-> int32, i8 <-> int8, i1 <-> bool; bf16 tensors travel as float32 "
         "files and i4 tensors as int8 files (values in [-8, 7]).\n";
}

bool sieve::parseBundleRunArguments(const std::vector<std::string> &arguments,
                                    BundleRunOptions &options,
                                    std::string &error) {
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    std::string argument = arguments[i];
    if (argument.size() < 2 || argument[0] != '-') {
      if (!options.bundle.empty()) {
        error = "unexpected argument '" + argument +
                "' (one bundle directory only)";
        return false;
      }
      options.bundle = argument;
      continue;
    }
    // "--name=value", "--name value", "-name ...".
    std::string name = argument.substr(argument[1] == '-' ? 2 : 1);
    std::optional<std::string> inlineValue;
    if (std::size_t equals = name.find('='); equals != std::string::npos) {
      inlineValue = name.substr(equals + 1);
      name = name.substr(0, equals);
    }
    auto flag = [&](bool &target) {
      if (inlineValue) {
        error = "--" + name + " takes no value";
        return false;
      }
      target = true;
      return true;
    };
    auto value = [&](std::string &target) {
      if (inlineValue) {
        target = *inlineValue;
        return true;
      }
      if (i + 1 >= arguments.size()) {
        error = "--" + name + " needs a value";
        return false;
      }
      target = arguments[++i];
      return true;
    };
    auto number = [&](uint64_t &target) {
      std::string text;
      if (!value(text))
        return false;
      if (!parseUnsigned(text, target)) {
        error =
            "--" + name + " expects a non-negative integer, got '" + text + "'";
        return false;
      }
      return true;
    };
    bool ok;
    uint64_t parsed = 0;
    if (name == "help" || name == "h") {
      ok = flag(options.help);
    } else if (name == "device") {
      ok = value(options.device);
    } else if (name == "input") {
      std::string file;
      ok = value(file);
      options.inputFiles.push_back(file);
    } else if (name == "permuted-input") {
      std::string text;
      ok = value(text);
      std::size_t equals = text.find('=');
      uint64_t input = 0;
      std::vector<std::size_t> order;
      bool valid = ok && equals != std::string::npos &&
                   parseUnsigned(text.substr(0, equals), input);
      std::string list = valid ? text.substr(equals + 1) + "," : "";
      for (std::size_t start = 0; valid && start < list.size();) {
        std::size_t comma = list.find(',', start);
        uint64_t dim = 0;
        valid = parseUnsigned(list.substr(start, comma - start), dim) &&
                dim < 64;
        order.push_back(static_cast<std::size_t>(dim));
        start = comma + 1;
      }
      std::vector<bool> seen(order.size(), false);
      for (std::size_t dim : order) {
        valid = valid && dim < order.size() && !seen[dim];
        if (dim < seen.size())
          seen[dim] = true;
      }
      if (ok && (!valid || order.empty())) {
        error = "--permuted-input expects INPUT=P0,P1,... with a permutation "
                "of 0..rank-1, got '" +
                text + "'";
        ok = false;
      }
      options.permutedInputs.push_back(
          {static_cast<std::size_t>(input), std::move(order)});
    } else if (name == "random-inputs") {
      ok = number(parsed);
      options.randomSeed = parsed;
    } else if (name == "dynamic-size") {
      ok = number(parsed);
      if (ok && parsed > static_cast<uint64_t>(INT64_MAX)) {
        error = "--dynamic-size is too large";
        ok = false;
      }
      options.dynamicSize = static_cast<int64_t>(parsed);
    } else if (name == "output-dir") {
      ok = value(options.outputDir);
    } else if (name == "print-summary") {
      ok = flag(options.printSummary);
    } else if (name == "repeat") {
      ok = number(parsed);
      if (ok && parsed > 1000000) {
        error = "--repeat is at most 1000000";
        ok = false;
      }
      options.repeat = static_cast<unsigned>(parsed);
    } else if (name == "stats") {
      ok = flag(options.stats);
    } else if (name == "cuda-graph") {
      ok = flag(options.cudaGraph);
    } else if (name == "emulator-schedule-seed") {
      ok = number(parsed);
      options.emulatorScheduleSeed = parsed;
    } else if (name == "emulator-check-races") {
      ok = flag(options.emulatorCheckRaces);
    } else {
      error = "unknown option '" + argument + "'; see --help";
      return false;
    }
    if (!ok)
      return false;
  }
  if (options.help)
    return true;
  if (options.bundle.empty()) {
    error = "no bundle directory given; see --help";
    return false;
  }
  return true;
}

int sieve::runBundle(const std::string &tool, const BundleRunOptions &options,
                     std::ostream &out, std::ostream &err) {
  auto fail = [&](const std::string &message) {
    err << tool << ": error: " << message << "\n";
    return 1;
  };
  if (options.repeat == 0)
    return fail("--repeat must be at least 1");
  if (options.randomSeed && !options.inputFiles.empty())
    return fail("give either --input files or --random-inputs, not both");
  if (options.randomSeed && !options.permutedInputs.empty())
    return fail("--permuted-input applies to --input files");

  using Clock = std::chrono::steady_clock;
  try {
    runtime::Bundle bundle = runtime::Bundle::open(options.bundle);
    std::vector<ArgumentSpec> specs = getArgumentSpecs(
        bundle, options.randomSeed.has_value(), options.dynamicSize);
    // A permuted input's file has the input's dimensions in another order.
    std::vector<std::vector<std::size_t>> order(specs.size());
    for (const auto &[input, permutation] : options.permutedInputs) {
      if (input >= specs.size())
        return fail(format("--permuted-input: the bundle has %zu inputs, no "
                           "input %zu",
                           specs.size(), input));
      ArgumentSpec &spec = specs[input];
      if (permutation.size() != spec.shape.size())
        return fail(format("--permuted-input: input %zu has rank %zu, the "
                           "permutation %zu entries",
                           input, spec.shape.size(), permutation.size()));
      std::vector<int64_t> fileShape;
      for (std::size_t dim : permutation)
        fileShape.push_back(spec.shape[dim]);
      spec.shape = fileShape;
      spec.typeText = formatTensorType(spec.shape, spec.dtype);
      order[input] = permutation;
    }
    std::vector<HostTensor> inputs;
    std::string error;
    bool ok = options.randomSeed
                  ? makeRandomInputs(specs, *options.randomSeed,
                                     options.dynamicSize, inputs, error)
                  : readInputFiles(bundle.getEntry(), options.inputFiles, specs,
                                   inputs, error);
    if (!ok)
      return fail(error);

    sieve_device_options deviceOptions = {};
    deviceOptions.emulator_schedule_seed = options.emulatorScheduleSeed;
    deviceOptions.emulator_check_races = options.emulatorCheckRaces ? 1 : 0;
    runtime::Device device =
        runtime::Device::open(options.device, &deviceOptions);
    uint32_t flags = 0;
    if (options.stats)
      flags |= SIEVE_SESSION_LAUNCH_TIMINGS;
    if (options.cudaGraph)
      flags |= SIEVE_SESSION_CUDA_GRAPH;
    auto loadStart = Clock::now();
    runtime::Session session(bundle, device, flags);
    double loadMs =
        std::chrono::duration<double, std::milli>(Clock::now() - loadStart)
            .count();
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (order[i].empty()) {
        session.bindInput(static_cast<int64_t>(i), inputs[i]);
        continue;
      }
      // File dimension k is input dimension order[k]: the view takes the
      // file's sizes and row-major strides in that order.
      const std::vector<int64_t> &fileShape = inputs[i].shape;
      std::vector<int64_t> shape(fileShape.size()), strides(fileShape.size());
      int64_t stride = 1;
      for (std::size_t k = fileShape.size(); k-- > 0;) {
        shape[order[i][k]] = fileShape[k];
        strides[order[i][k]] = stride;
        stride *= fileShape[k];
      }
      session.bindInput(static_cast<int64_t>(i), inputs[i].dtype, shape,
                        inputs[i].data.data(), strides.data());
    }

    std::vector<double> runMs;
    for (unsigned run = 0; run < options.repeat; ++run) {
      auto start = Clock::now();
      session.run();
      runMs.push_back(
          std::chrono::duration<double, std::milli>(Clock::now() - start)
              .count());
    }

    std::vector<HostTensor> outputs;
    for (int64_t o = 0; o < session.getNumOutputs(); ++o)
      outputs.push_back(session.readOutput(o));
    if (!options.outputDir.empty() &&
        !writeOutputs(options.outputDir, outputs, error))
      return fail(error);
    if (options.printSummary)
      out << formatOutputSummaries(outputs);
    if (options.repeat > 1) {
      out << format("load: %.1f ms\n", loadMs);
      out << format("run: median %.3f ms over %u runs\n", getMedian(runMs),
                    options.repeat);
    }
    if (options.stats)
      printStats(session, bundle, device, out);
  } catch (const runtime::Error &error) {
    return fail(error.what());
  } catch (const std::bad_alloc &) {
    return fail("out of host memory");
  }
  return 0;
}
