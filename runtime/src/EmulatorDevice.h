//===- EmulatorDevice.h - The SIMT emulator as a device ---------*- C++ -*-===//
//
// Runs a bundle's kernels.emu.so through sieve_emu_launch (emulator.h).
// The launcher is the SieveEmulator library when the runtime was built with
// it; otherwise whichever library of the process provides sieve_emu_launch
// (found with dlsym), so that a runtime built without Boost.Context can still
// run kernels when an emulator is loaded beside it.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_RUNTIME_SRC_EMULATORDEVICE_H
#define SIEVE_RUNTIME_SRC_EMULATORDEVICE_H

#include "Device.h"

#include "sieve/emulator.h"

namespace sieve::rt {

/// sieve_emu_launch's type.
using EmulatorLaunchFn = int (*)(const sieve_emu_launch_desc *,
                                 sieve_emu_launch_stats *, char *, size_t);

/// The process's emulator launcher, or null if there is none.
EmulatorLaunchFn findEmulatorLauncher();

/// Opens the emulator with `launch` as its launcher.
Status openEmulatorDevice(EmulatorLaunchFn launch,
                          const sieve_device_options &options,
                          std::shared_ptr<Device> &device);

/// The symbol of kernel `name` in kernels.emu.so.
std::string getEmulatorKernelSymbol(const std::string &name);

} // namespace sieve::rt

#endif // SIEVE_RUNTIME_SRC_EMULATORDEVICE_H
