import { BufferPool, type PoolStats } from './buffer-pool.js';
import { capabilities, type Capabilities, type KernelVariant } from './capabilities.js';
import { DispatchProfiler, type DispatchRecord, type ProfileMode } from './profiler.js';
import { DeviceLostError, formatBytes, formatShape, GpuError, GpuLimitError, KernelCompileError, KernelInputError } from './errors.js';
import type { ConstantValues, Kernel, ParamValues, Workgroups } from './kernel.js';
import { ScopeStack } from './scopes.js';
import { shapeSize, Tensor, type DType, type HostArray } from './tensor.js';
import type { BindingDecl, EntryPointInfo } from './wgsl-reflect.js';
import '../util/dispose-symbol.js';

/** Options of an {@link Engine} (and of {@link acquireEngine}). */
export interface EngineOptions {
  /** Dispatches encoded before an automatic submit. Readback submits earlier. */
  maxDispatchesPerSubmit?: number;
  /** Print every WGSL module (with its kernel name) to stderr when it is compiled. */
  dumpShaders?: boolean;
  /** Called before each wait on the GPU (Node: marks the start of a wait for dawn-polling.ts). */
  onWait?: () => void;
  /** Allow Winograd convolutions (default true); see `Engine.winograd`. */
  winograd?: boolean;
  /** Run a conv's residual add in its epilogue: true everywhere, 'rows' only on the direct rows kernels, false nowhere (default: true on hardware adapters, 'rows' on software ones); see `Engine.convEpilogueFusion`. */
  convEpilogueFusion?: boolean | 'rows';
  /**
   * Fill every tensor `empty` hands out with NaN (default false): a testing aid, so that a kernel which
   * leaves part of its output unwritten fails its checks instead of passing on a reused buffer that
   * still holds an earlier, correct result. Costs one buffer copy per allocation.
   */
  poisonEmpty?: boolean;
  /** Largest dx, in bytes, whose conv store applies backward's ReLU (default: any on hardware adapters, 256 KiB on software ones); see `Engine.convBackwardEpilogueMaxBytes`. */
  convBackwardEpilogueMaxBytes?: number;
  /**
   * A binding limit below the adapter's (bytes; default: the adapter's): every kernel then splits,
   * chunks or falls back as it would on an adapter with that limit, and the batched methods run fewer
   * images per pass. Tests use it to reach those paths with small models; see `Engine.maxBindingBytes`.
   */
  maxBindingBytes?: number;
}

/** The adapter an engine runs on, as the platform describes it; `isSoftware` is true for lavapipe, SwiftShader and the like. */
export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isSoftware: boolean;
  features: string[];
}

/** Counters of an engine: dispatches, submits, cached pipelines and bind groups, and its buffer pool. */
export interface EngineStats {
  dispatches: number;
  submits: number;
  pipelines: number;
  /** Bind groups created: a dispatch whose buffers an earlier one bound the same way reuses that one's. */
  bindGroups: number;
  pool: PoolStats;
  /** Dispatches per op (e.g. 'conv2d.forward') and kernel variant, for ops that have variants. */
  variants: Record<string, Partial<Record<KernelVariant, number>>>;
}

/**
 * One kernel dispatch: the kernel's entry point, its storage bindings, its `struct Params` values, override constants and the
 * workgroup count.
 */
export interface DispatchRequest {
  kernel: Kernel;
  entry: string;
  /** Storage bindings by their WGSL variable name. */
  bindings: Record<string, Tensor>;
  /** Values for the shader's `struct Params`, by field name. */
  params?: ParamValues;
  workgroups: Workgroups;
  /** Override constants (compile-time specialisation). */
  constants?: ConstantValues;
  /** The op this dispatch belongs to (e.g. 'conv2d.forward'): stats and profiles group by it. */
  op?: string;
  /** The kernel variant it runs, for ops that have several (recorded in `stats.variants`). */
  variant?: KernelVariant;
  /** Multiply-adds x 2 this dispatch performs, for profiles' GFLOP/s (0 or absent: memory-bound). */
  flops?: number;
}

/** Options of `engine.profile(fn)`. */
export interface ProfileOptions {
  /** 'timestamps' (default where the device has `timestamp-query`) or 'fence' (one submit per dispatch). */
  mode?: ProfileMode;
}

/** What `engine.profile(fn)` measured: fn's result, and every dispatch it issued with its GPU time. */
export interface ProfileResult<T> {
  result: T;
  mode: ProfileMode;
  /** Every dispatch `fn` issued, in order, with its GPU time. */
  dispatches: DispatchRecord[];
  /** Wall time of `fn` and the wait for its GPU work, ms. */
  wallMs: number;
  /**
   * GPU buffers the engine's pool created while `fn` ran. The dispatch that first writes a new buffer
   * also pays for its memory (on a software adapter the OS maps and zeroes it page by page: tens of ms
   * for a batch-250 activation), so a profile of a run that still creates buffers blames that time on
   * whichever layers happen to get them. Profile a run of the same work repeated until this is 0.
   */
  createdBuffers: number;
}

const UNIFORM_SLOT = 256;
/** Bind groups kept for reuse before the cache starts over (a pass of ResNet-50 forward + backward uses ~250). */
const MAX_CACHED_BIND_GROUPS = 4096;

interface BatchError {
  message: string;
  labels: string[];
  kind: 'compile' | 'validation' | 'out-of-memory';
}

const fieldIndexes = new WeakMap<EntryPointInfo, Map<string, number>>();

/** Each uniform field's index by name, made once per entry point. */
function fieldIndexOf(entry: EntryPointInfo): Map<string, number> {
  let m = fieldIndexes.get(entry);
  if (!m) fieldIndexes.set(entry, (m = new Map(entry.params.map((f, i) => [f.name, i]))));
  return m;
}

/** A dispatch as error messages name it; formatted only when one is reported (most batches never are). */
interface BatchedDispatch {
  label: string;
  bindings: Record<string, Tensor>;
}

/** `kernel.entry x[1, 3, 224, 224] y[...]`: the entry point and the shape of each bound tensor. */
function describeDispatch(d: BatchedDispatch): string {
  return `${d.label} ${bindingShapes(d.bindings)}`;
}

function bindingShapes(bindings: Record<string, Tensor>): string {
  return Object.entries(bindings)
    .map(([n, t]) => `${n}${formatShape(t.shape)}`)
    .join(' ');
}

/**
 * The runtime: one device, a pipeline cache, a buffer pool, and a command recorder that encodes many
 * dispatches into one command encoder and submits at readback or every `maxDispatchesPerSubmit`.
 * Dispatch is synchronous; errors from a batch surface as exceptions at the next `read`/`finish`.
 */
export class Engine {
  readonly pool: BufferPool;
  readonly limits: GPUSupportedLimits;
  private readonly maxDispatches: number;
  private readonly dumpShaders: boolean;
  private readonly onWait?: () => void;
  private readonly modules = new Map<string, { module: GPUShaderModule; source: string }>();
  private readonly pipelines = new Map<string, { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout; bindings: BindingDecl[] }>();
  private readonly uniformBuffer: GPUBuffer;
  private readonly uniformStaging: ArrayBuffer;
  /** The staging buffer as 32-bit words of each type (uniform structs here are all 4-byte scalars; little-endian hosts). */
  private readonly uniformWords: { f32: Float32Array; u32: Uint32Array; i32: Int32Array };
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private batchDispatches = 0;
  private batchDispatchRecords: BatchedDispatch[] = [];
  private pendingErrors: Promise<BatchError | null>[] = [];
  private lostInfo: GPUDeviceLostInfo | null = null;
  /** Pending reads and finishes to fail when the device is lost; removed as each settles (no growth per call). */
  private readonly lostWaiters = new Set<(info: GPUDeviceLostInfo) => void>();
  private readonly scopes = new ScopeStack((t) => this.release(t));
  private allocationsUntilFault: number | null = null;
  private readonly poisonEmpty: boolean;
  /** NaN-filled copy sources for `poisonEmpty` (the largest last; the earlier ones until destroy). */
  private readonly nanSources: GPUBuffer[] = [];
  private destroyed = false;
  private readonly counters = { dispatches: 0, submits: 0, bindGroups: 0 };
  /**
   * Bind groups by layout, then by the bound buffers and sizes. Creating one costs ~15 us of native
   * time on Dawn (more than the rest of a dispatch's encoding), and the pool hands the same buffers back
   * pass after pass, so repeated passes find theirs here. The uniform slot is a dynamic offset, not part
   * of the key. A destroyed buffer is never bound again, so its entries are never hit; the whole cache is
   * dropped when it passes MAX_CACHED_BIND_GROUPS.
   */
  private bindGroups = new WeakMap<GPUBindGroupLayout, Map<string, GPUBindGroup>>();
  private cachedBindGroups = 0;
  private readonly variantCounts: EngineStats['variants'] = {};
  private profiler: DispatchProfiler | null = null;
  /**
   * Whether convs may take the Winograd path where it is faster (kernels/winograd.ts). Its outputs
   * differ from the direct conv's by rounding, and at that level every output of a tile depends on the
   * tile's whole input patch: switch it off for bit-exact locality (receptive-field probes).
   */
  winograd: boolean;
  /**
   * Where the graph runs a residual add in the epilogue of the conv before it (a batch-norm is always
   * folded into the conv's weights and a following ReLU always runs in its store): true for every conv,
   * false for none, 'rows' only where the conv runs a direct rows kernel (`*_rows` in
   * conv2d_gemm_sg.wgsl; `conv2dForwardKernel` says which). Software adapters get 'rows': on lavapipe the
   * residual's loads cost more in the store of a GEMM tile or of Winograd's output transform than a
   * separate vec4 pass (ResNet-50 at batch 1: 188 against 179 ms; CIFAR ResNet-20's 64-channel stage,
   * Winograd, 2.8-4.7 ms more per conv against a 3.0 ms pass), but less in the rows kernels' store than
   * the pass (CIFAR's 16- and 32-channel stages at batch 250: 0-6 ms more per conv against 5.4-11 ms
   * passes, and the next block's conv reads the block's output still warm). Hardware adapters get true:
   * the saved memory traffic should win there; not measured yet.
   */
  convEpilogueFusion: boolean | 'rows';
  /**
   * Backward to the input through the ReLU before a conv: the largest dx, in bytes, whose transposed
   * conv's store applies the ReLU's backward (loading the ReLU's output, and a residual shortcut's
   * gradient where there is one); a larger dx gets it as one streaming pass after the conv. Unlimited on
   * hardware adapters; 256 KiB on software ones, where those loads scatter over planes the cache does not
   * hold (kernels/conv2d.ts, `reluInStore`, has the measurements).
   */
  convBackwardEpilogueMaxBytes: number;
  /**
   * The largest tensor, in bytes, one kernel binding may hold: the adapter's maxStorageBufferBindingSize
   * (and maxBufferSize), or `EngineOptions.maxBindingBytes` where that is lower. Kernels that split large
   * operands or pick a path by size, and the methods that choose how many images share a pass
   * (graph/pass-size.ts), read it here rather than from `limits`.
   */
  readonly maxBindingBytes: number;
  private layer = { name: '', phase: '' };

  constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterDescription,
    options: EngineOptions = {},
    /** Keeps platform objects (dawn.node's GPU) alive as long as the engine. */
    private readonly keepAlive: unknown = null,
  ) {
    this.limits = device.limits;
    this.maxBindingBytes = Math.min(
      device.limits.maxStorageBufferBindingSize,
      device.limits.maxBufferSize,
      options.maxBindingBytes ?? Infinity,
    );
    if (!(this.maxBindingBytes >= 16))
      throw new KernelInputError(`maxBindingBytes must be at least 16 bytes, got ${options.maxBindingBytes}`);
    this.maxDispatches = options.maxDispatchesPerSubmit ?? 64;
    this.dumpShaders = options.dumpShaders ?? false;
    this.poisonEmpty = options.poisonEmpty ?? false;
    this.onWait = options.onWait;
    this.winograd = options.winograd ?? true;
    this.convEpilogueFusion = options.convEpilogueFusion ?? (adapter.isSoftware ? 'rows' : true);
    this.convBackwardEpilogueMaxBytes = options.convBackwardEpilogueMaxBytes ?? (adapter.isSoftware ? 256 * 1024 : Infinity);
    this.pool = new BufferPool(device);
    this.uniformBuffer = device.createBuffer({
      size: this.maxDispatches * UNIFORM_SLOT,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      label: 'engine.uniforms',
    });
    this.uniformStaging = new ArrayBuffer(this.maxDispatches * UNIFORM_SLOT);
    this.uniformWords = {
      f32: new Float32Array(this.uniformStaging),
      u32: new Uint32Array(this.uniformStaging),
      i32: new Int32Array(this.uniformStaging),
    };
    void device.lost.then((info) => {
      this.lostInfo = info;
      for (const fail of this.lostWaiters) fail(info);
      this.lostWaiters.clear();
    });
  }

  /** The binding limit in words for error messages: which limit it is and its size. */
  bindingLimitName(): string {
    const adapter = Math.min(this.limits.maxStorageBufferBindingSize, this.limits.maxBufferSize);
    return this.maxBindingBytes < adapter
      ? `this engine's maxBindingBytes ${formatBytes(this.maxBindingBytes)} (the adapter binds ${formatBytes(adapter)})`
      : `this adapter's maxStorageBufferBindingSize ${formatBytes(this.maxBindingBytes)}`;
  }

  // ---------------------------------------------------------------- tensors

  /** An uninitialised tensor from the pool (filled with NaN under `poisonEmpty`). */
  empty(shape: readonly number[], dtype: DType = 'f32', label = 'tensor'): Tensor {
    const t = this.allocate(shape, dtype, label);
    if (this.poisonEmpty) this.fillNaN(t.buffer, alignTo4(t.byteLength));
    return t;
  }

  /** A tensor from the pool, as its last user left it: for callers that overwrite all of it at once. */
  private allocate(shape: readonly number[], dtype: DType, label: string): Tensor {
    this.assertUsable();
    const size = shapeSize(shape);
    if (!Number.isSafeInteger(size) || size <= 0 || shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new KernelInputError(
        `${label}: cannot allocate a tensor of shape ${formatShape(shape)}; every dimension must be a positive integer`,
      );
    }
    const bytes = size * 4;
    if (bytes > this.limits.maxBufferSize) {
      throw new GpuLimitError(
        `${label}: tensor ${formatShape(shape)} needs ${formatBytes(bytes)}, over this adapter's maxBufferSize ${formatBytes(this.limits.maxBufferSize)}; use a smaller batch or split the tensor`,
      );
    }
    if (this.allocationsUntilFault !== null && this.allocationsUntilFault-- <= 0) {
      this.allocationsUntilFault = null;
      throw new GpuLimitError(`${label}: simulated allocation failure (simulateAllocationFailure)`);
    }
    const buffer = this.pool.acquire(bytes);
    const t = new Tensor(this, { buffer, released: false, label }, [...shape], dtype);
    this.scopes.track(t);
    return t;
  }

  /** Copies NaN over the first `bytes` of `buffer`, in order with the commands encoded so far. */
  private fillNaN(buffer: GPUBuffer, bytes: number): void {
    let source = this.nanSources[this.nanSources.length - 1];
    if (!source || source.size < bytes) {
      // Older sources may still be read by encoded copies: they stay until destroy().
      source = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.COPY_SRC, mappedAtCreation: true, label: 'poison NaN' });
      new Float32Array(source.getMappedRange()).fill(NaN);
      source.unmap();
      this.nanSources.push(source);
    }
    this.endPass();
    this.currentEncoder().copyBufferToBuffer(source, 0, buffer, 0, bytes);
  }

  /**
   * Runs `fn` in a release scope (scopes.ts): every tensor allocated inside that `fn` neither returns
   * nor `keep`s is released when it ends, also when it throws. Works for sync and async `fn`.
   */
  scope<T>(fn: () => T): T {
    return this.scopes.run(fn);
  }

  /** Lets a tensor outlive the innermost scope (it moves to the enclosing one). */
  keep<T extends Tensor>(t: T): T {
    this.scopes.keep(t);
    return t;
  }

  /** Takes a tensor out of every scope for good: caches and model parameters are released by their owner. */
  persist<T extends Tensor>(t: T): T {
    this.scopes.persist(t);
    return t;
  }

  /** Testing aid (device faults): the allocation after the next `n` fails with a GpuLimitError; null disarms. */
  simulateAllocationFailure(n: number | null): void {
    this.allocationsUntilFault = n;
  }

  upload(data: HostArray | readonly number[], shape: readonly number[], label = 'upload'): Tensor {
    const array = Array.isArray(data) ? Float32Array.from(data) : (data as HostArray);
    const dtype: DType = array instanceof Uint32Array ? 'u32' : array instanceof Int32Array ? 'i32' : 'f32';
    if (array.length !== shapeSize(shape)) {
      throw new KernelInputError(`${label}: ${array.length} values do not fill shape ${formatShape(shape)} (${shapeSize(shape)} elements)`);
    }
    // A fresh pool buffer is never referenced by unsubmitted commands, so the write cannot race (and
    // it is not poisoned: the write runs before any command encoded now).
    const t = this.allocate(shape, dtype, label);
    this.device.queue.writeBuffer(t.buffer, 0, array.buffer, array.byteOffset, array.byteLength);
    return t;
  }

  /** Overwrites an existing tensor. Submits pending work first so earlier commands see the old data. */
  write(t: Tensor, data: HostArray): void {
    if (data.length !== t.size) {
      throw new KernelInputError(`write: ${data.length} values for tensor ${formatShape(t.shape)}`);
    }
    this.flush();
    this.device.queue.writeBuffer(t.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  }

  zeros(shape: readonly number[], dtype: DType = 'f32', label = 'zeros'): Tensor {
    const t = this.allocate(shape, dtype, label);
    this.endPass();
    this.currentEncoder().clearBuffer(t.buffer, 0, alignTo4(t.byteLength));
    return t;
  }

  release(t: Tensor): void {
    if (t.storage.released) return;
    t.storage.released = true;
    this.pool.release(t.storage.buffer);
  }

  /** Releases every tensor given, skipping undefined; convenient at the end of a method. */
  releaseAll(...tensors: (Tensor | undefined | null)[]): void {
    for (const t of tensors) if (t) this.release(t);
  }

  /** Device-side copy of a tensor (same shape). */
  clone(t: Tensor, label = 'clone'): Tensor {
    const out = this.empty(t.shape, t.dtype, label);
    this.endPass();
    this.currentEncoder().copyBufferToBuffer(t.buffer, 0, out.buffer, 0, alignTo4(t.byteLength));
    return out;
  }

  /** Copies `count` elements between tensors at element offsets (e.g. one image of a batch). */
  copy(src: Tensor, srcOffset: number, dst: Tensor, dstOffset: number, count: number): void {
    if (srcOffset + count > src.size || dstOffset + count > dst.size || count < 0) {
      throw new KernelInputError(`copy: ${count} elements from ${src}@${srcOffset} to ${dst}@${dstOffset} is out of range`);
    }
    if (count === 0) return;
    this.endPass();
    this.currentEncoder().copyBufferToBuffer(src.buffer, srcOffset * 4, dst.buffer, dstOffset * 4, count * 4);
  }

  // ---------------------------------------------------------------- dispatch

  dispatch(req: DispatchRequest): void {
    this.assertUsable();
    const { kernel, entry } = req;
    // A kernel whose workgroup size is `override WG` gets it from the caller, who also sized the grid
    // with it: one definition, so the two can never drift apart.
    if (req.constants?.WG === undefined && kernel.reflection.overrides.includes('WG')) {
      throw new KernelInputError(`${kernel.name}.${entry}: pass the workgroup size the grid was computed with as constants.WG`);
    }
    const { pipeline, layout, bindings } = this.pipelineFor(kernel, entry, req.constants ?? {});
    const label = `${kernel.name}.${entry}`;
    const [x, y, z] = normaliseWorkgroups(req.workgroups, label, this.limits.maxComputeWorkgroupsPerDimension);
    const entries: GPUBindGroupEntry[] = [];
    // What the bind group binds, as its cache key: the pool's id and the size of each buffer in order.
    let bindingKey = '';
    let uniformSlot = -1;
    for (const b of bindings) {
      if (b.kind === 'uniform') {
        uniformSlot = this.batchDispatches;
        this.packParams(kernel.name, kernel.reflection.entryPoints.get(entry)!, req.params ?? {}, uniformSlot);
        // The slot is the dynamic offset given to setBindGroup: the bind group itself is slot-free.
        entries.push({ binding: b.binding, resource: { buffer: this.uniformBuffer, offset: 0, size: UNIFORM_SLOT } });
        bindingKey += 'u,';
        continue;
      }
      const t = req.bindings[b.name];
      if (!t) {
        const expected = bindings.filter((d) => d.kind !== 'uniform').map((d) => d.name);
        throw new KernelInputError(`${label}: missing binding "${b.name}"; this entry point binds ${expected.join(', ')}`);
      }
      if (t.byteLength > this.maxBindingBytes) {
        throw new GpuLimitError(
          `${label}: binding "${b.name}" is ${formatBytes(t.byteLength)} (${formatShape(t.shape)}), over ${this.bindingLimitName()}; split the tensor across bindings`,
        );
      }
      const size = alignTo4(t.byteLength);
      entries.push({ binding: b.binding, resource: { buffer: t.buffer, offset: 0, size } });
      bindingKey += `${this.pool.idOf(t.buffer)}:${size},`;
    }
    for (const name of Object.keys(req.bindings)) {
      if (!bindings.some((b) => b.name === name)) {
        const known = bindings.filter((d) => d.kind !== 'uniform').map((d) => d.name);
        throw new KernelInputError(`${label}: unknown binding "${name}"; this entry point binds ${known.join(', ')}`);
      }
    }
    if (uniformSlot < 0 && req.params && Object.keys(req.params).length) {
      throw new KernelInputError(`${label}: params given but the entry point does not read struct Params`);
    }
    const bindGroup = this.bindGroupFor(layout, entries, bindingKey, label);
    const profiler = this.profiler;
    // Profiled dispatches get a pass each, so the pass's timestamps bracket exactly one dispatch.
    const pass = profiler ? this.profiledPass(profiler) : this.currentPass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup, uniformSlot >= 0 ? [uniformSlot * UNIFORM_SLOT] : []);
    pass.dispatchWorkgroups(x, y, z);
    if (profiler) {
      pass.end();
      // Each buffer once: kernels bind a stand-in (the weight as an unused bias) twice.
      const bytes = [...new Map(Object.values(req.bindings).map((t) => [t.buffer, t.byteLength])).values()].reduce((a, b) => a + b, 0);
      profiler.dispatched({
        kernel: label,
        op: req.op ?? kernel.name,
        variant: req.variant ?? null,
        layer: this.layer.name,
        phase: this.layer.phase,
        shapes: bindingShapes(req.bindings),
        workgroups: [x, y, z],
        flops: req.flops ?? 0,
        bytes,
      });
    }
    this.batchDispatches++;
    this.batchDispatchRecords.push({ label, bindings: req.bindings });
    this.counters.dispatches++;
    if (req.variant) {
      const perOp = (this.variantCounts[req.op ?? kernel.name] ??= {});
      perOp[req.variant] = (perOp[req.variant] ?? 0) + 1;
    }
    if (this.batchDispatches >= Math.min(this.maxDispatches, profiler?.batchCapacity ?? Infinity)) this.flush();
  }

  /** The bind group of `entries` (`key` names what they bind) under `layout`: a cached one when an earlier dispatch bound the same. */
  private bindGroupFor(layout: GPUBindGroupLayout, entries: GPUBindGroupEntry[], key: string, label: string): GPUBindGroup {
    let cache = this.bindGroups.get(layout);
    if (!cache) this.bindGroups.set(layout, (cache = new Map()));
    let group = cache.get(key);
    if (!group) {
      if (this.cachedBindGroups >= MAX_CACHED_BIND_GROUPS) {
        this.bindGroups = new WeakMap();
        this.bindGroups.set(layout, (cache = new Map()));
        this.cachedBindGroups = 0;
      }
      group = this.device.createBindGroup({ layout, entries, label });
      cache.set(key, group);
      this.cachedBindGroups++;
      this.counters.bindGroups++;
    }
    return group;
  }

  /** Packs the fields of the uniform struct the entry point reads (`label`: the kernel, for messages). */
  private packParams(label: string, entry: EntryPointInfo, params: ParamValues, slot: number): void {
    // Runs once per dispatch: field lookups by name through a map made once per entry point, and
    // stores through typed arrays made once per engine.
    const fields = entry.params;
    const index = fieldIndexOf(entry);
    if (fields.length * 4 > UNIFORM_SLOT)
      throw new KernelInputError(`${label}: struct ${entry.paramsStruct} has more than ${UNIFORM_SLOT / 4} fields`);
    for (const name in params) {
      if (!index.has(name)) {
        throw new KernelInputError(
          `${label}: unknown param "${name}"; struct ${entry.paramsStruct} has ${fields.map((f) => f.name).join(', ')}`,
        );
      }
    }
    const base = slot * (UNIFORM_SLOT / 4);
    const { f32, u32, i32 } = this.uniformWords;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i];
      const v = params[f.name];
      if (v === undefined) throw new KernelInputError(`${label}: param "${f.name}" is missing`);
      if (f.type === 'f32') {
        f32[base + i] = v;
      } else if (f.type === 'u32') {
        if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new KernelInputError(`${label}: param ${f.name}=${v} is not a u32`);
        u32[base + i] = v;
      } else {
        if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff)
          throw new KernelInputError(`${label}: param ${f.name}=${v} is not an i32`);
        i32[base + i] = v;
      }
    }
  }

  private pipelineFor(kernel: Kernel, entry: string, constants: ConstantValues) {
    const constKey = Object.keys(constants)
      .sort()
      .map((k) => `${k}=${constants[k]}`)
      .join(',');
    const key = `${kernel.name}|${entry}|${constKey}`;
    const cached = this.pipelines.get(key);
    if (cached) return cached;

    const info = kernel.reflection.entryPoints.get(entry);
    if (!info) {
      throw new KernelInputError(
        `${kernel.name}: no entry point "${entry}"; it has ${[...kernel.reflection.entryPoints.keys()].join(', ')}`,
      );
    }
    for (const c of Object.keys(constants)) {
      if (!kernel.reflection.overrides.includes(c)) {
        throw new KernelInputError(
          `${kernel.name}: unknown override constant "${c}"; the shader declares ${kernel.reflection.overrides.join(', ') || 'none'}`,
        );
      }
    }
    const module = this.moduleFor(kernel);
    this.ensureBatchScopes();
    const layout = this.device.createBindGroupLayout({
      label: `${kernel.name}.${entry}.layout`,
      entries: info.bindings.map((b) => ({
        binding: b.binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer:
          b.kind === 'uniform'
            ? { type: 'uniform', hasDynamicOffset: true }
            : { type: b.kind === 'read' ? 'read-only-storage' : 'storage' },
      })),
    });
    const pipeline = this.device.createComputePipeline({
      label: `${kernel.name}.${entry}${constKey ? `<${constKey}>` : ''}`,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout], label: `${kernel.name}.${entry}.pipelineLayout` }),
      compute: { module, entryPoint: entry, constants },
    });
    const result = { pipeline, layout, bindings: info.bindings };
    this.pipelines.set(key, result);
    return result;
  }

  private moduleFor(kernel: Kernel): GPUShaderModule {
    const cached = this.modules.get(kernel.name);
    if (cached) {
      if (cached.source !== kernel.source) throw new KernelCompileError(`two different kernels are named "${kernel.name}"`);
      return cached.module;
    }
    if (this.dumpShaders) console.error(`// ---- WGSL for kernel ${kernel.name}\n${kernel.source}`);
    this.ensureBatchScopes();
    const module = this.device.createShaderModule({ code: kernel.source, label: kernel.name });
    this.modules.set(kernel.name, { module, source: kernel.source });
    // Compilation messages name the kernel and the line; they are raised at the next sync point.
    this.pendingErrors.push(
      module.getCompilationInfo().then((info) => {
        const errors = info.messages.filter((m) => m.type === 'error');
        if (!errors.length) return null;
        const text = errors.map((m) => `  ${kernel.name}.wgsl:${m.lineNum}:${m.linePos}: ${m.message}`).join('\n');
        return { message: `WGSL compilation failed for kernel ${kernel.name}:\n${text}`, labels: [], kind: 'compile' } satisfies BatchError;
      }),
    );
    return module;
  }

  // ---------------------------------------------------------------- command recording

  private scopesOpen = false;

  /** One validation and one out-of-memory scope per batch: cheap, and errors carry the batch's labels. */
  private ensureBatchScopes(): void {
    if (this.scopesOpen) return;
    this.device.pushErrorScope('validation');
    this.device.pushErrorScope('out-of-memory');
    this.scopesOpen = true;
  }

  private currentEncoder(): GPUCommandEncoder {
    this.ensureBatchScopes();
    return (this.encoder ??= this.device.createCommandEncoder({ label: 'engine.batch' }));
  }

  private currentPass(): GPUComputePassEncoder {
    return (this.pass ??= this.currentEncoder().beginComputePass({ label: 'engine.pass' }));
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  /** Submits everything encoded so far. Cheap when nothing is pending. */
  flush(): void {
    if (!this.encoder && !this.scopesOpen) {
      // Nothing unsubmitted can reference a released buffer: it may be reused at once.
      this.pool.onSubmit();
      return;
    }
    this.endPass();
    if (this.batchDispatches > 0) {
      this.device.queue.writeBuffer(this.uniformBuffer, 0, this.uniformStaging, 0, this.batchDispatches * UNIFORM_SLOT);
    }
    if (this.encoder) {
      this.profiler?.beforeSubmit(this.encoder);
      this.device.queue.submit([this.encoder.finish()]);
      this.profiler?.afterSubmit(this.device.queue);
      this.counters.submits++;
    }
    this.encoder = null;
    this.pool.onSubmit();
    if (this.scopesOpen) {
      const records = this.batchDispatchRecords;
      const labels = () => records.slice(-8).map(describeDispatch);
      const oom = this.device.popErrorScope();
      const validation = this.device.popErrorScope();
      this.pendingErrors.push(
        Promise.all([oom, validation]).then(([o, v]): BatchError | null => {
          if (v) return { message: v.message, labels: labels(), kind: 'validation' };
          if (o) return { message: o.message, labels: labels(), kind: 'out-of-memory' };
          return null;
        }),
      );
      this.scopesOpen = false;
    }
    this.batchDispatches = 0;
    this.batchDispatchRecords = [];
  }

  /** Raises the first GPU error reported since the last check. */
  async checkErrors(): Promise<void> {
    this.flush();
    const results = await Promise.all(this.pendingErrors);
    this.pendingErrors = [];
    const first = results.find((r) => r !== null);
    if (!first) return;
    const { message, kind } = first;
    if (kind === 'compile') throw new KernelCompileError(message);
    const where = first.labels.length ? `\n  in a batch of (last 8 shown):\n    ${first.labels.slice(-8).join('\n    ')}` : '';
    if (kind === 'out-of-memory') {
      throw new GpuLimitError(`GPU out of memory: ${message}${where}\n  use a smaller batch or release tensors sooner`);
    }
    throw new GpuError(`GPU validation error: ${message}${where}`);
  }

  /** Waits until the GPU has finished all submitted work; raises GPU errors. */
  async finish(): Promise<void> {
    this.flush();
    await this.raceLost(this.device.queue.onSubmittedWorkDone(), 'finish');
    await this.checkErrors();
  }

  async read(t: Tensor): Promise<HostArray> {
    this.assertUsable();
    const bytes = alignTo4(t.byteLength);
    const staging = this.device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      label: `readback ${t}`,
    });
    try {
      this.endPass();
      this.currentEncoder().copyBufferToBuffer(t.buffer, 0, staging, 0, bytes);
      this.flush();
      await this.raceLost(staging.mapAsync(GPUMapMode.READ), `read ${t}`);
      await this.checkErrors();
      const copy = staging.getMappedRange().slice(0, t.byteLength);
      staging.unmap();
      return t.dtype === 'u32' ? new Uint32Array(copy) : t.dtype === 'i32' ? new Int32Array(copy) : new Float32Array(copy);
    } finally {
      staging.destroy();
    }
  }

  private async raceLost<T>(p: Promise<T>, what: string): Promise<T> {
    this.assertUsable();
    this.onWait?.();
    let waiter!: (info: GPUDeviceLostInfo) => void;
    const lost = new Promise<never>((_, reject) => {
      waiter = (info) => reject(new DeviceLostError(`GPU device lost during ${what}: ${info.message || info.reason}`));
    });
    this.lostWaiters.add(waiter);
    try {
      return await Promise.race([p, lost]);
    } finally {
      this.lostWaiters.delete(waiter);
    }
  }

  private assertUsable(): void {
    if (this.destroyed) throw new GpuError('engine used after destroy()');
    if (this.lostInfo)
      throw new DeviceLostError(`GPU device was lost: ${this.lostInfo.message || this.lostInfo.reason}; create a new engine`);
  }

  // ---------------------------------------------------------------- profiling

  /**
   * Runs `fn` with every dispatch timed on the GPU (timestamp queries where the device has them, a
   * per-dispatch fence otherwise; see profiler.ts). Work pending before the call is finished first and
   * is not counted. Profiles do not nest.
   */
  async profile<T>(fn: () => T | Promise<T>, opts: ProfileOptions = {}): Promise<ProfileResult<T>> {
    if (this.profiler) throw new GpuError('engine.profile: a profile is already running; profiles do not nest');
    const mode = opts.mode ?? (this.capabilities.timestamps ? 'timestamps' : 'fence');
    if (mode === 'timestamps' && !this.capabilities.timestamps) {
      throw new KernelInputError("engine.profile: this device has no 'timestamp-query' feature; use mode 'fence'");
    }
    await this.finish();
    const profiler = new DispatchProfiler(this.device, mode);
    this.profiler = profiler;
    let result: T;
    let wallMs: number;
    const buffersBefore = this.pool.stats.createdBuffers;
    try {
      const t0 = performance.now();
      result = await fn();
      await this.finish();
      wallMs = performance.now() - t0;
    } catch (err) {
      this.profiler = null;
      profiler.destroy();
      throw err;
    }
    this.profiler = null;
    const createdBuffers = this.pool.stats.createdBuffers - buffersBefore;
    return { result, mode, dispatches: await profiler.collect(), wallMs, createdBuffers };
  }

  /** Names the graph layer (and pass) whose dispatches follow, for profiles; cheap enough to call always. */
  markLayer(name: string, phase = ''): void {
    this.layer = { name, phase };
  }

  private profiledPass(profiler: DispatchProfiler): GPUComputePassEncoder {
    this.endPass();
    return this.currentEncoder().beginComputePass(profiler.passDescriptor());
  }

  get stats(): EngineStats {
    const variants = Object.fromEntries(Object.entries(this.variantCounts).map(([op, v]) => [op, { ...v }]));
    return { ...this.counters, pipelines: this.pipelines.size, pool: this.pool.stats, variants };
  }

  /** What the device can do, and the kernel-variant policy every family follows (capabilities.ts). */
  get capabilities(): Capabilities {
    return capabilities(this);
  }

  /** Frees every GPU buffer and the device, so a Node process can exit. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    try {
      this.endPass();
      this.encoder = null;
      this.pool.destroyAll();
      for (const b of this.nanSources) b.destroy();
      this.uniformBuffer.destroy();
    } finally {
      this.device.destroy();
    }
    void this.keepAlive;
  }

  /** `using engine = await acquireEngine()` destroys the engine at the end of the block. */
  [Symbol.dispose](): void {
    this.destroy();
  }
}

function alignTo4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

function normaliseWorkgroups(w: Workgroups, label: string, max: number): [number, number, number] {
  const [x, y = 1, z = 1] = typeof w === 'number' ? [w] : w;
  for (const d of [x, y, z]) {
    if (!Number.isInteger(d) || d < 1) throw new KernelInputError(`${label}: workgroup count ${d} must be a positive integer`);
    if (d > max) throw new GpuLimitError(`${label}: ${d} workgroups in one dimension exceeds maxComputeWorkgroupsPerDimension ${max}`);
  }
  return [x, y, z];
}

/** Workgroups for n threads of size wg, folding into y past the per-dimension limit. */
export function grid1d(n: number, wg: number, maxPerDim = 65535): [number, number, number] {
  const groups = Math.max(1, Math.ceil(n / wg));
  if (groups <= maxPerDim) return [groups, 1, 1];
  return [maxPerDim, Math.ceil(groups / maxPerDim), 1];
}
