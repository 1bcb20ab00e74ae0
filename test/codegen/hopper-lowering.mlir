// Step 0 of the Hopper path (docs/hopper-design.md): the instructions the
// sm_90a kernels will use lower through sieve-compile's PTX path (the
// kernels' pass order: nvgpu before gpu, so that nvgpu.mbarrier.create's
// global is lowered too) into PTX for sm_90a. hopper-lowering-ptxas.test
// assembles it.
// RUN: sieve-test-run-kernel %s --emit-ptx sm_90a | FileCheck %s
// CHECK: .target sm_90a
// CHECK: .shared .align 8 .b8 __mbarrier[8]
// CHECK: setmaxnreg.inc.sync.aligned.u32 232
// CHECK: mbarrier.init.shared
// CHECK: mbarrier.arrive.shared
// CHECK: mbarrier.try_wait.parity.shared
// CHECK: wgmma.fence.sync.aligned
// CHECK: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16
// CHECK: wgmma.commit_group.sync.aligned
// CHECK: wgmma.wait_group.sync.aligned 0

// Other targets reject the wgmma ops cleanly (the emitter gives the module
// its NVVM target, against which the ops verify), rather than LLVM aborting
// in instruction selection.
// RUN: not sieve-test-run-kernel %s --emit-ptx sm_80 2>&1 | FileCheck %s --check-prefix=SM80
// RUN: not sieve-test-run-kernel %s --emit-ptx sm_90 2>&1 | FileCheck %s --check-prefix=SM90
// SM80: error: {{.*}}'nvvm.wgmma.fence.aligned' op is not supported on sm_80
// SM90: error: {{.*}}'nvvm.wgmma.fence.aligned' op is not supported on sm_90
// SM80-NOT: Stack dump
// SM90-NOT: Stack dump

!acc = !llvm.struct<(f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)>
!barrier = !nvgpu.mbarrier.group<memorySpace = #gpu.address_space<workgroup>>
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @hopper(%out: memref<128xf32>, %descA: i64, %descB: i64) kernel {
      %c0 = arith.constant 0 : index
      %c128 = arith.constant 128 : index
      %false = arith.constant false
      %ticks = arith.constant 10000000 : index
      nvvm.setmaxregister increase 232
      %bar = nvgpu.mbarrier.create -> !barrier
      nvgpu.mbarrier.init %bar[%c0], %c128 : !barrier
      %token = nvgpu.mbarrier.arrive %bar[%c0] : !barrier -> !nvgpu.mbarrier.token
      nvgpu.mbarrier.try_wait.parity %bar[%c0], %false, %ticks : !barrier
      %zero = llvm.mlir.zero : !acc
      nvvm.wgmma.fence.aligned
      %d = nvvm.wgmma.mma_async %descA, %descB, %zero, #nvvm.shape<m = 64, n = 64, k = 16>, D [<f32>, #nvvm.wgmma_scale_out<zero>], A [<bf16>, #nvvm.wgmma_scale_in<one>, <row>], B [<bf16>, #nvvm.wgmma_scale_in<one>, <col>] : !acc -> !acc
      nvvm.wgmma.commit.group.sync.aligned
      nvvm.wgmma.wait.group.sync.aligned 0
      %x = llvm.extractvalue %d[5] : !acc
      %tid = gpu.thread_id x
      memref.store %x, %out[%tid] : memref<128xf32>
      gpu.return
    }
  }
}
