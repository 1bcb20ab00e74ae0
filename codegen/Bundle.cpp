//===- Bundle.cpp - What a kernel bundle holds ----------------------------===//

#include "codegen/Bundle.h"

using namespace mlir::sieve;
namespace json = llvm::json;

static json::Array toJSON(llvm::ArrayRef<SizeExpr> exprs) {
  json::Array array;
  for (const SizeExpr &expr : exprs)
    array.push_back(expr.toJSON());
  return array;
}

static json::Value toJSON(const TensorDecl &tensor) {
  json::Object object{{"name", tensor.name},
                      {"dtype", ::sieve::getDTypeName(tensor.dtype)},
                      {"shape", toJSON(tensor.shape)},
                      {"buffer", tensor.buffer}};
  if (tensor.random.range)
    object["random"] =
        json::Object{{"min", tensor.random.range->first.toJSON()},
                     {"max", tensor.random.range->second.toJSON()}};
  else if (tensor.random.scale)
    object["random"] =
        json::Object{{"qmax", tensor.random.scale->first},
                     {"k", tensor.random.scale->second.toJSON()}};
  if (tensor.strided)
    object["strided"] = true;
  return object;
}

json::Value BundleManifest::toJSON(const json::Object &files) const {
  json::Array symbolArray, inputArray, outputArray, bufferArray, checkArray,
      kernelArray, launchArray, gateArray;
  for (const SymbolDecl &symbol : symbols)
    symbolArray.push_back(
        json::Object{{"name", symbol.name},
                     {"input", symbol.input},
                     {symbol.stride ? "stride" : "dim", symbol.dim}});
  for (const TensorDecl &input : inputs)
    inputArray.push_back(::toJSON(input));
  for (const TensorDecl &output : outputs)
    outputArray.push_back(::toJSON(output));
  for (const BufferDecl &buffer : buffers) {
    json::Object object{{"name", buffer.name},
                        {"kind", buffer.kind},
                        {"bytes", buffer.bytes.toJSON()}};
    if (buffer.kind == "temporary" || buffer.kind == "constant")
      object["offset"] = buffer.offset.toJSON();
    bufferArray.push_back(std::move(object));
  }
  for (const CheckDecl &check : checks)
    checkArray.push_back(json::Object{{"expr", check.condition.toJSON()},
                                      {"message", check.message}});
  for (const KernelDecl &kernel : kernels) {
    json::Array params;
    for (const std::string &param : kernel.params)
      params.push_back(param);
    kernelArray.push_back(
        json::Object{{"name", kernel.name},
                     {"static_shared_bytes", kernel.staticSharedBytes},
                     {"params", std::move(params)}});
  }
  for (const LaunchDecl &launch : launches) {
    json::Array args;
    for (const KernelArg &arg : launch.args) {
      switch (arg.kind) {
      case KernelArg::Kind::Buffer:
        args.push_back(json::Object{
            {"buffer", arg.buffer},
            {"dtype", ::sieve::getDTypeName(arg.dtype)}});
        break;
      case KernelArg::Kind::I64:
        args.push_back(json::Object{{"i64", arg.value.toJSON()}});
        break;
      case KernelArg::Kind::TensorMap: {
        const TensorMapDecl &map = *arg.tensorMap;
        json::Array dims, strides, box;
        for (const SizeExpr &dim : map.dims)
          dims.push_back(dim.toJSON());
        for (const SizeExpr &stride : map.strides)
          strides.push_back(stride.toJSON());
        for (int64_t size : map.box)
          box.push_back(size);
        args.push_back(json::Object{
            {"tensor_map",
             json::Object{{"buffer", arg.buffer},
                          {"dtype", ::sieve::getDTypeName(arg.dtype)},
                          {"offset", map.offset.toJSON()},
                          {"dims", std::move(dims)},
                          {"strides", std::move(strides)},
                          {"box", std::move(box)},
                          {"swizzle", map.swizzle}}}});
        break;
      }
      }
    }
    json::Object object{
        {"kernel", launch.kernel},
        {"op", launch.op},
        {"grid", ::toJSON(launch.grid)},
        {"block", json::Array{launch.block[0], launch.block[1],
                              launch.block[2]}},
        {"dynamic_shared_bytes", launch.dynamicSharedBytes.toJSON()},
        {"args", std::move(args)}};
    if (!launch.reuseInputs.empty()) {
      json::Array inputs;
      for (const std::string &input : launch.reuseInputs)
        inputs.push_back(input);
      object["reuse"] = std::move(inputs);
    }
    launchArray.push_back(std::move(object));
  }
  for (const GateDecl &gate : gates)
    gateArray.push_back(json::Object{{"op", gate.op},
                                     {"score", gate.score},
                                     {"mask", gate.mask},
                                     {"tokens", gate.tokens.toJSON()}});
  return json::Object{{"format", "sieve-bundle"},
                      {"version", kBundleFormatVersion},
                      {"producer", producer},
                      {"target", target},
                      {"entry", entry},
                      {"symbols", std::move(symbolArray)},
                      {"inputs", std::move(inputArray)},
                      {"outputs", std::move(outputArray)},
                      {"buffers", std::move(bufferArray)},
                      {"arena_bytes", arenaBytes.toJSON()},
                      {"checks", std::move(checkArray)},
                      {"kernels", std::move(kernelArray)},
                      {"launches", std::move(launchArray)},
                      {"gates", std::move(gateArray)},
                      {"files", json::Object(files)}};
}
