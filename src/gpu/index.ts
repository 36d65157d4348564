export { acquireEngine, type AcquireOptions } from './acquire.js';
export { Engine, grid1d, type DispatchRequest, type EngineOptions, type EngineStats, type AdapterDescription } from './engine.js';
export { Tensor, shapeSize, type DType, type HostArray } from './tensor.js';
export { defineKernel, type Kernel, type ParamValues, type ConstantValues, type Workgroups } from './kernel.js';
export * from './errors.js';
export { sizeClass, type PoolStats } from './buffer-pool.js';
