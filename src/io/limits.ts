/**
 * How large a file LayerTracer reads whole into memory. One definition for the CLI, the library's
 * `loadModel` / `loadClassMeans` and the labelled data sets, so a hostile or mistaken file is refused
 * by its size before it is read.
 */

/**
 * Weights and class-means files: the largest supported model, VGG-19-BN, is 0.55 GiB, so 1 GiB leaves
 * room and keeps a hostile file from taking the machine's memory.
 */
export const MAX_WEIGHTS_BYTES = 2 ** 30;

/**
 * A labelled data set in one safetensors file (images U8 [N, H, W, 3] and labels) is read whole: 2 GiB is
 * about 8,900 ImageNet-sized or 2.2 million CIFAR-sized images. Larger sets go in a folder (read image by image).
 */
export const MAX_DATASET_BYTES = 2 ** 31;
