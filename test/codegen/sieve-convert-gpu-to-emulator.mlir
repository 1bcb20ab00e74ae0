// RUN: sieve-opt %s -split-input-file -sieve-convert-gpu-to-emulator | FileCheck %s

// Ids become ABI calls; every access is bounds-checked before it happens.
// CHECK-LABEL: func.func @sieve_emu_body_store(
//  CHECK-SAME:     %[[OUT:[^:]+]]: memref<?xf32>, %{{.+}}: memref<?xi8>, %{{.+}}: memref<?xi8>)
//       CHECK:   %[[ID:.+]] = call @sieve_emu_thread_id(%{{.+}}) : (i32) -> i64
//       CHECK:   %[[TID:.+]] = arith.index_cast %[[ID]] : i64 to index
//       CHECK:   %[[SIZE:.+]] = memref.dim %[[OUT]], %{{.+}} : memref<?xf32>
//       CHECK:   scf.if
//       CHECK:     func.call @sieve_emu_fail(
//       CHECK:   memref.store %{{.+}}, %[[OUT]][%[[TID]]] : memref<?xf32>
//       CHECK:   return
//   CHECK-NOT:   {{^ *(%[^ ]+ = )?gpu\.}}
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @store(%out: memref<?xf32>) kernel {
      %tid = gpu.thread_id x
      %v = arith.constant 1.0 : f32
      memref.store %v, %out[%tid] : memref<?xf32>
      gpu.return
    }
  }
}

// -----

// Workgroup memory is a view into the block's shared memory; its accesses
// report to the race checker; barriers and shuffles are rendezvous calls.
// CHECK-LABEL: func.func @sieve_emu_body_shared(
//  CHECK-SAME:     %{{.+}}: memref<?xf32>, %[[SHARED:[^:]+]]: memref<?xi8>, %{{.+}}: memref<?xi8>)
//       CHECK:   %[[VIEW:.+]] = memref.view %[[SHARED]][%{{.+}}][] : memref<?xi8> to memref<32xf32>
//       CHECK:   call @sieve_emu_shared_access(
//       CHECK:   memref.store %{{.+}}, %[[VIEW]]
//       CHECK:   call @sieve_emu_barrier(
//       CHECK:   call @sieve_emu_shared_access(
//       CHECK:   memref.load %[[VIEW]]
//       CHECK:   %[[BITS:.+]] = arith.bitcast %{{.+}} : f32 to i32
//       CHECK:   call @sieve_emu_shuffle(%{{.+}}, %{{.+}}, %[[BITS]], %{{.+}}, %{{.+}}, %{{.+}}) : (!llvm.ptr, i32, i32, i32, i32, i64) -> i32
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @shared(%out: memref<?xf32>) workgroup(%tile: memref<32xf32, #gpu.address_space<workgroup>>) kernel {
      %tid = gpu.thread_id x
      %c1 = arith.constant 1 : index
      %v = memref.load %out[%tid] : memref<?xf32>
      memref.store %v, %tile[%tid] : memref<32xf32, #gpu.address_space<workgroup>>
      gpu.barrier
      %next = arith.addi %tid, %c1 : index
      %w = memref.load %tile[%next] : memref<32xf32, #gpu.address_space<workgroup>>
      %o = arith.constant 1 : i32
      %width = arith.constant 32 : i32
      %s, %valid = gpu.shuffle xor %w, %o, %width : f32
      memref.store %s, %out[%tid] : memref<?xf32>
      gpu.return
    }
  }
}

// -----

// Tensor-core ops go through the warp rendezvous, fragments through stack
// buffers.
// CHECK-LABEL: func.func @sieve_emu_body_mma(
//       CHECK:   call @sieve_emu_ldmatrix(
//       CHECK:   call @sieve_emu_mma_sync(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}) : (!llvm.ptr, i32, i32, i32, i64, i64, i64, i64) -> ()
//       CHECK:   vector.load %{{.+}} : memref<4xi32>, vector<4xi32>
//   CHECK-NOT:   {{^ *(%[^ ]+ = )?nvgpu\.}}
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @mma(%a: vector<4x2xf16>, %b: vector<2x2xf16>, %c: vector<2x2xf32>, %out: memref<?xf32>) workgroup(%tile: memref<16x16xf16, #gpu.address_space<workgroup>>) kernel {
      %c0 = arith.constant 0 : index
      %frag = nvgpu.ldmatrix %tile[%c0, %c0] {numTiles = 4 : i32, transpose = false} : memref<16x16xf16, #gpu.address_space<workgroup>> -> vector<4x2xf16>
      %d = nvgpu.mma.sync(%frag, %b, %c) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
      %e = vector.extract %d[0, 0] : f32 from vector<2x2xf32>
      memref.store %e, %out[%c0] : memref<?xf32>
      gpu.return
    }
  }
}

// -----

// An mma.sync on i8 fragments marked sieve.e4m3 multiplies f8E4M3FN values:
// shape 2 (m16n8k32), A/B type 5 (SIEVE_EMU_TYPE_E4M3), C/D type 3 (f32).
// CHECK-LABEL: func.func @sieve_emu_body_mma_e4m3(
//   CHECK-DAG:   %[[SHAPE:.+]] = arith.constant 2 : i32
//   CHECK-DAG:   %[[E4M3:.+]] = arith.constant 5 : i32
//   CHECK-DAG:   %[[F32:.+]] = arith.constant 3 : i32
//       CHECK:   call @sieve_emu_mma_sync(%{{.+}}, %[[SHAPE]], %[[E4M3]], %[[F32]],
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @mma_e4m3(%a: vector<4x4xi8>, %b: vector<2x4xi8>, %c: vector<2x2xf32>, %out: memref<?xf32>) kernel {
      %c0 = arith.constant 0 : index
      %d = nvgpu.mma.sync(%a, %b, %c) {mmaShape = [16, 8, 32], sieve.e4m3} : (vector<4x4xi8>, vector<2x4xi8>, vector<2x2xf32>) -> vector<2x2xf32>
      %e = vector.extract %d[0, 0] : f32 from vector<2x2xf32>
      memref.store %e, %out[%c0] : memref<?xf32>
      gpu.return
    }
  }
}

// -----

// Async copies: the copy, its group and the wait each become a call.
// CHECK-LABEL: func.func @sieve_emu_body_async(
//       CHECK:   call @sieve_emu_cp_async(
//       CHECK:   call @sieve_emu_cp_async_commit()
//       CHECK:   call @sieve_emu_cp_async_wait(
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @async(%src: memref<?xf16>) workgroup(%tile: memref<64xf16, #gpu.address_space<workgroup>>) kernel {
      %c0 = arith.constant 0 : index
      %t = nvgpu.device_async_copy %src[%c0], %tile[%c0], 8 : memref<?xf16> to memref<64xf16, #gpu.address_space<workgroup>>
      %g = nvgpu.device_async_create_group %t
      nvgpu.device_async_wait %g {numGroups = 0 : i32}
      gpu.return
    }
  }
}

// -----

// Vector accesses check the whole vector and the alignment they claim.
// CHECK-LABEL: func.func @sieve_emu_body_vectors(
//       CHECK:   arith.addi %{{.+}}, %c8 : index
//       CHECK:   arith.remui %{{.+}}, %c16_i64 : i64
//       CHECK:   vector.load
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @vectors(%buf: memref<?xf16>) kernel {
      %c0 = arith.constant 0 : index
      %v = vector.load %buf[%c0] {alignment = 16} : memref<?xf16>, vector<8xf16>
      vector.store %v, %buf[%c0] {alignment = 16} : memref<?xf16>, vector<8xf16>
      gpu.return
    }
  }
}


// -----

// Work counters (KernelBuilder::countWork) call the emulator's ABI function
// itself; the optimization barrier (KernelBuilder::opaque) is the identity.
// CHECK-LABEL: func.func @sieve_emu_body_counted(
//       CHECK:   %[[C:.+]] = arith.constant 3 : i64
//       CHECK:   call @sieve_emu_count_work(%[[C]]) : (i64) -> ()
//   CHECK-NOT:   llvm.inline_asm
//       CHECK:   %[[X:.+]] = arith.constant 5 : i32
//       CHECK:   arith.addi %[[X]], %[[X]] : i32
module attributes {gpu.container_module} {
  gpu.module @kernels {
    func.func private @sieve_emu_count_work(i64)
    gpu.func @counted(%out: memref<?xi32>) kernel {
      %c3 = arith.constant 3 : i64
      func.call @sieve_emu_count_work(%c3) : (i64) -> ()
      %x = arith.constant 5 : i32
      %y = llvm.inline_asm has_side_effects "mov.b32 $0, $1;", "=r,r" %x : (i32) -> i32
      %z = arith.addi %y, %x : i32
      %c0 = arith.constant 0 : index
      memref.store %z, %out[%c0] : memref<?xi32>
      gpu.return
    }
  }
}

// -----

// wgmma (sm_90a): the fence, commit and wait become calls; a product with
// A from shared memory passes both descriptors, the transposes of its
// layouts (A "row" and B "col" are K-major: 0) and scale-d, and D through a
// stack buffer that is read back into the result struct. fence.proxy.async
// is a call too.
// CHECK-LABEL: func.func @sieve_emu_body_wgmma_shared_a(
//  CHECK-SAME:     %{{.+}}: memref<128xf32>, %[[DA:[^:]+]]: i64, %[[DB:[^:]+]]: i64,
//       CHECK:   call @sieve_emu_fence_proxy_async(%{{.+}}) : (!llvm.ptr) -> ()
//       CHECK:   call @sieve_emu_wgmma_fence(%{{.+}}) : (!llvm.ptr) -> ()
//       CHECK:   %[[D:.+]] = memref.alloca() : memref<4xi32>
//       CHECK:   %[[N:.+]] = arith.constant 8 : i32
//       CHECK:   %[[BF16:.+]] = arith.constant 1 : i32
//       CHECK:   %[[F32:.+]] = arith.constant 3 : i32
//       CHECK:   %[[TRANSA:.+]] = arith.constant 0 : i32
//       CHECK:   %[[TRANSB:.+]] = arith.constant 1 : i32
//       CHECK:   call @sieve_emu_wgmma(%{{.+}}, %[[N]], %[[BF16]], %[[F32]], %{{.+}}, %[[DA]], %[[DB]], %[[TRANSA]], %[[TRANSB]], %{{.+}}, %{{.+}}) : (!llvm.ptr, i32, i32, i32, i64, i64, i64, i32, i32, i32, i64) -> ()
//       CHECK:   memref.load %[[D]]
//       CHECK:   call @sieve_emu_wgmma_commit(
//       CHECK:   %[[PENDING:.+]] = arith.constant 1 : i32
//       CHECK:   call @sieve_emu_wgmma_wait(%{{.+}}, %[[PENDING]]) : (!llvm.ptr, i32) -> ()
//   CHECK-NOT:   {{^ *(%[^ ]+ = )?nvvm\.}}
!acc4 = !llvm.struct<(f32, f32, f32, f32)>
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @wgmma_shared_a(%out: memref<128xf32>, %descA: i64, %descB: i64) kernel {
      %zero = llvm.mlir.zero : !acc4
      nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
      nvvm.wgmma.fence.aligned
      %d = nvvm.wgmma.mma_async %descA, %descB, %zero, #nvvm.shape<m = 64, n = 8, k = 16>, D [<f32>, #nvvm.wgmma_scale_out<one>], A [<bf16>, #nvvm.wgmma_scale_in<one>, <row>], B [<bf16>, #nvvm.wgmma_scale_in<one>, <row>] : !acc4 -> !acc4
      nvvm.wgmma.commit.group.sync.aligned
      nvvm.wgmma.wait.group.sync.aligned 1
      %x = llvm.extractvalue %d[3] : !acc4
      %tid = gpu.thread_id x
      memref.store %x, %out[%tid] : memref<128xf32>
      gpu.return
    }
  }
}

// -----

// The register-A product (WarpgroupMma's tagged inline assembly): D, A's
// four registers, B's descriptor and scale-d; no A descriptor. The register
// fence after the wait is the identity.
// CHECK-LABEL: func.func @sieve_emu_body_wgmma_register_a(
//       CHECK:   %[[A:.+]] = memref.alloca() : memref<4xi32>
//       CHECK:   %[[D:.+]] = memref.alloca() : memref<4xi32>
//       CHECK:   %[[NOA:.+]] = arith.constant 0 : i64
//       CHECK:   %[[N:.+]] = arith.constant 8 : i32
//       CHECK:   %[[F16:.+]] = arith.constant 0 : i32
//       CHECK:   %[[F32:.+]] = arith.constant 3 : i32
//       CHECK:   %[[TRANSA:.+]] = arith.constant 0 : i32
//       CHECK:   %[[TRANSB:.+]] = arith.constant 1 : i32
//       CHECK:   call @sieve_emu_wgmma(%{{.+}}, %[[N]], %[[F16]], %[[F32]], %{{.+}}, %[[NOA]], %{{.+}}, %[[TRANSA]], %[[TRANSB]], %{{.+}}, %{{.+}})
//   CHECK-NOT:   {{^ *(%[^ ]+ = )?llvm\.inline_asm}}
!acc4 = !llvm.struct<(f32, f32, f32, f32)>
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @wgmma_register_a(%out: memref<128xf32>, %a: i32, %descB: i64) kernel {
      %f = arith.constant 0.0 : f32
      %one = arith.constant 1 : i32
      nvvm.wgmma.fence.aligned
      %d = llvm.inline_asm has_side_effects {sieve.wgmma = array<i32: 8, 0, 1>} "wgmma", "=f,=f,=f,=f,0,1,2,3,r,r,r,r,l,n" %f, %f, %f, %f, %a, %a, %a, %a, %descB, %one : (f32, f32, f32, f32, i32, i32, i32, i32, i64, i32) -> !acc4
      nvvm.wgmma.commit.group.sync.aligned
      nvvm.wgmma.wait.group.sync.aligned 0
      %x = llvm.extractvalue %d[0] : !acc4
      %y = llvm.extractvalue %d[1] : !acc4
      %fenced = llvm.inline_asm has_side_effects "", "=f,=f,0,1" %x, %y : (f32, f32) -> !llvm.struct<(f32, f32)>
      %z = llvm.extractvalue %fenced[1] : !llvm.struct<(f32, f32)>
      %tid = gpu.thread_id x
      memref.store %z, %out[%tid] : memref<128xf32>
      gpu.return
    }
  }
}

// -----

// mbarriers and TMA loads (NVVM ops on pointers the kernel made with
// llvm.inttoptr): calls on the addresses themselves, the coordinates
// through a stack buffer; the pointers die.
// CHECK-LABEL: func.func @sieve_emu_body_tma(
//  CHECK-SAME:     %[[MAP:[^:]+]]: i64, %[[BAR:[^:]+]]: i64, %[[DST:[^:]+]]: i64,
//       CHECK:   call @sieve_emu_mbarrier_init(%{{.+}}, %[[BAR]], %{{.+}}) : (!llvm.ptr, i64, i32) -> ()
//       CHECK:   call @sieve_emu_mbarrier_arrive(%{{.+}}, %[[BAR]], %{{.+}}) : (!llvm.ptr, i64, i32) -> ()
//       CHECK:   %[[COORDS:.+]] = memref.alloca() : memref<2xi32>
//       CHECK:   %[[RANK:.+]] = arith.constant 2 : i32
//       CHECK:   call @sieve_emu_tma_load(%{{.+}}, %[[DST]], %[[MAP]], %[[BAR]], %[[RANK]], %{{.+}}) : (!llvm.ptr, i64, i64, i64, i32, i64) -> ()
//       CHECK:   call @sieve_emu_mbarrier_wait_parity(%{{.+}}, %[[BAR]], %{{.+}}) : (!llvm.ptr, i64, i32) -> ()
//   CHECK-NOT:   llvm.inttoptr
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @tma(%map: i64, %barrier: i64, %dst: i64) kernel {
      %one = arith.constant 1 : i32
      %bytes = arith.constant 8192 : i32
      %zero = arith.constant 0 : i32
      %ticks = arith.constant 1000 : i32
      %m = llvm.inttoptr %map : i64 to !llvm.ptr
      %bar = llvm.inttoptr %barrier : i64 to !llvm.ptr<3>
      %d = llvm.inttoptr %dst : i64 to !llvm.ptr<7>
      nvvm.mbarrier.init %bar, %one : !llvm.ptr<3>, i32
      nvvm.mbarrier.arrive.expect_tx %bar, %bytes : !llvm.ptr<3>, i32
      nvvm.cp.async.bulk.tensor.shared.cluster.global %d, %m, %bar, box[%zero, %one] : !llvm.ptr<7>, !llvm.ptr
      nvvm.mbarrier.try_wait.parity %bar, %zero, %ticks : !llvm.ptr<3>, i32, i32
      gpu.return
    }
  }
}

// -----

// Warp specialisation: setmaxnreg and named barriers (bar.sync waits,
// bar.arrive does not); an nvvm.barrier without operands is gpu.barrier's.
// CHECK-LABEL: func.func @sieve_emu_body_roles(
//       CHECK:   %[[REGS:.+]] = arith.constant 40 : i32
//       CHECK:   %[[DEC:.+]] = arith.constant 0 : i32
//       CHECK:   call @sieve_emu_setmaxnreg(%{{.+}}, %[[REGS]], %[[DEC]]) : (!llvm.ptr, i32, i32) -> ()
//       CHECK:   %[[WAIT:.+]] = arith.constant 1 : i32
//       CHECK:   call @sieve_emu_named_barrier(%{{.+}}, %{{.+}}, %{{.+}}, %[[WAIT]]) : (!llvm.ptr, i32, i32, i32) -> ()
//       CHECK:   %[[NOWAIT:.+]] = arith.constant 0 : i32
//       CHECK:   call @sieve_emu_named_barrier(%{{.+}}, %{{.+}}, %{{.+}}, %[[NOWAIT]]) : (!llvm.ptr, i32, i32, i32) -> ()
//       CHECK:   call @sieve_emu_barrier(
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @roles() kernel {
      %one = arith.constant 1 : i32
      %count = arith.constant 256 : i32
      nvvm.setmaxregister decrease 40
      nvvm.barrier id = %one number_of_threads = %count
      nvvm.barrier.arrive id = %one number_of_threads = %count
      nvvm.barrier
      gpu.return
    }
  }
}
