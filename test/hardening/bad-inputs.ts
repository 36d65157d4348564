/**
 * The bad-input table: one row per hostile or careless command line, over every command. A row is the
 * arguments (placeholders in braces are files from hostile-files.ts or the fixtures), the exit code
 * (2: called wrongly, refused before anything loads; 1: an input turned out bad once read) and a phrase
 * the message must contain. For every row the runner also checks that the output folder {OUT} is
 * unchanged, that no staging folder is left behind and that no raw stack trace is printed.
 */
export interface BadInput {
  args: string;
  code: 1 | 2;
  phrase: string;
}

const EXPLAIN = 'explain --weights {VGG} --image {GOOD_PNG} --method grad-cam --out {OUT}';
const EVALUATE = 'evaluate --weights {VGG} --data {SET_SAFETENSORS} --methods grad-cam --range 0:2 --out {OUT}';
const MEANS = 'class-means --weights {VGG} --data {SET_SAFETENSORS} --range 0:20 --out {DIR}/means-out.safetensors';
const EARLY = 'early-exit --weights {VGG} --means {MEANS} --data {SET_SAFETENSORS} --range 0:8 --out {OUT}';
const FILTERS = 'filters --weights {VGG} --out {OUT}';
const PATCHES = 'patches --weights {VGG} --data {SET_SAFETENSORS} --layer features.3 --channels 0 --limit 4 --out {OUT}';
const NEIGHBOURS = 'neighbours --weights {VGG} --data {SET_SAFETENSORS} --queries 0 --k 2 --limit 6 --out {OUT}';
const EMBED = 'embed --weights {VGG} --data {SET_SAFETENSORS} --limit 6 --method pca --out {OUT}';
const TRACE = 'trace --weights {VGG} --means {MEANS} --image {GOOD_PNG} --masks 8 --batch 8 --out {OUT}';
const DEMO = 'demo --images 1 --rise-masks 4 --trace-masks 4 --out {OUT}';
const PROFILE = 'profile --arch cifar_resnet20 --forward-only --no-ceiling --warmup 0 --out {OUT}';

/** Rows that swap one value of a base command line (or add an option) and expect a refusal. */
const variants = (base: string, rows: [string, 1 | 2, string][]): BadInput[] =>
  rows.map(([change, code, phrase]) => ({ args: replaceOption(base, change), code, phrase }));

/** The first `--x v` of `change` replaces `--x ...` in `base` (a repeat is appended); `-x` removes option x. */
function replaceOption(base: string, change: string): string {
  let args = base;
  const seen = new Set<string>();
  for (const part of change.split(/ (?=--|-(?=[a-z]))/)) {
    if (/^-[a-z]/.test(part)) {
      args = args.replace(new RegExp(` --${part.slice(1)}( [^-][^ ]*)?`), '');
      continue;
    }
    const name = part.split(' ')[0];
    const present = new RegExp(` ${name}( |$)`).test(args);
    args = present && !seen.has(name) ? args.replace(new RegExp(`${name} [^ ]+`), part) : `${args} ${part}`;
    seen.add(name);
  }
  return args;
}

const WEIGHT_FILES: [string, 1 | 2, string][] = [
  ['--weights {NAN_SAFETENSORS}', 1, 'tensor "features.3.weight" (layer features.3) has 1 non-finite value'],
  ['--weights {INF_SAFETENSORS}', 1, '"classifier.bias" (layer classifier) has 1 non-finite value'],
  ['--weights {NEG_INF_SAFETENSORS}', 1, 'non-finite value'],
  ['--weights {INT_WEIGHTS_SAFETENSORS}', 1, 'stored as I32, an integer type'],
  ['--weights {I64_WEIGHTS_SAFETENSORS}', 1, 'stored as I64, an integer type'],
  ['--weights {U8_WEIGHTS_SAFETENSORS}', 1, 'stored as U8, an integer type'],
  ['--weights {MISSING_TENSOR_SAFETENSORS}', 1, 'but layer classifier expects'],
  ['--weights {WRONG_SHAPE_SAFETENSORS}', 1, 'has shape [31]'],
  ['--weights {INPUT_SIZE_HUGE_SAFETENSORS}', 1, 'metadata "input_size" must be [height, width]'],
  ['--weights {INPUT_SIZE_BAD_JSON_SAFETENSORS}', 1, 'metadata "input_size" is not valid JSON'],
  ['--weights {INPUT_SIZE_NEGATIVE_SAFETENSORS}', 1, 'metadata "input_size" must be'],
  ['--weights {NORMALIZE_ZERO_STD_SAFETENSORS}', 1, 'every std above 0'],
  ['--weights {NORMALIZE_STRINGS_SAFETENSORS}', 1, 'metadata "normalize" must be'],
  ['--weights {CLASSES_OBJECTS_SAFETENSORS}', 1, 'metadata "classes" must be a JSON list'],
  ['--weights {CLASSES_COUNT_SAFETENSORS}', 1, 'lists 2 class names but the classifier has 10'],
  ['--weights {RESIZE_HUGE_SAFETENSORS}', 1, 'metadata "resize" must be an integer'],
  ['--weights {RESIZE_NAN_SAFETENSORS}', 1, 'metadata "resize" must be an integer'],
  ['--weights {ARCH_UNKNOWN_SAFETENSORS}', 1, 'transformer_xl'],
  ['--weights {LONG_NAME_SAFETENSORS}', 1, 'features.0.bias'],
  ['--weights {DEEP_HEADER_SAFETENSORS}', 1, 'deep-header.safetensors: header is nested more than 32 levels'],
  ['--weights {DEEP_METADATA_SAFETENSORS}', 1, 'deep-metadata.safetensors: header is nested more than 32 levels'],
  ['--weights {DEEP_ENTRY_SAFETENSORS}', 1, 'deep-entry.safetensors: header is nested'],
  ['--weights {TRUNCATED_SAFETENSORS}', 1, 'truncated.safetensors'],
  ['--weights {HEADER_ONLY_SAFETENSORS}', 1, 'header-only.safetensors'],
  ['--weights {EMPTY_SAFETENSORS}', 1, 'file is only 0 bytes'],
  ['--weights {SEVEN_BYTES_SAFETENSORS}', 1, 'file is only 7 bytes'],
  ['--weights {ABSURD_LENGTH_SAFETENSORS}', 1, 'is absurd'],
  ['--weights {NOT_JSON_SAFETENSORS}', 1, 'header is not valid UTF-8 JSON'],
  ['--weights {JSON_ARRAY_SAFETENSORS}', 1, 'header must be a JSON object, got [1,2,3]'],
  ['--weights {BAD_UTF8_SAFETENSORS}', 1, 'header is not valid UTF-8 JSON'],
  ['--weights {HUGE_SHAPE_SAFETENSORS}', 1, "tensor 'w'"],
  ['--weights {OFFSETS_OUTSIDE_SAFETENSORS}', 1, 'lie outside the data section'],
  ['--weights {OVERLAP_SAFETENSORS}', 1, 'overlap'],
  ['--weights {UNKNOWN_DTYPE_SAFETENSORS}', 1, 'unsupported dtype "F8_E4M3"'],
  ['--weights {TEXT_SAFETENSORS}', 1, 'text.safetensors'],
  ['--weights {SPARSE_BIG_SAFETENSORS}', 1, 'is 1.50 GiB, over the 1.00 GiB this kind of file can need'],
  ['--weights {PNG_AS_WEIGHTS_SAFETENSORS}', 1, 'png-as-weights.safetensors'],
  ['--weights {SET_SAFETENSORS}', 1, 'set.safetensors'],
  ['--weights {MEANS}', 1, 'default-vgg.means.safetensors'],
];

const IMAGE_FILES: [string, 1 | 2, string][] = [
  ['--image {BIG_HEADER_PNG}', 1, 'the image is 5000x5000 (25.0 megapixels), over the 12-megapixel limit. Downscale it first'],
  ['--image {TALL_PNG}', 1, 'the image is 1x10000000, more than 100 times longer than it is wide'],
  ['--image {WIDE_PNG}', 1, 'more than 100 times longer'],
  ['--image {UNFILLABLE_PNG}', 1, 'declares 3000x3000 pixels but holds only 1'],
  ['--image {INTERLACED_BOMB_PNG}', 1, 'inflates to more than the'],
  ['--image {BOMB_PNG}', 1, 'inflates to more than the 196864 bytes its 256x256 header needs'],
  ['--image {SHORT_DATA_PNG}', 1, "the PNG's image data ends early"],
  ['--image {SHORT_INTERLACED_PNG}', 1, "the PNG's image data ends early"],
  ['--image {CUT_ZLIB_PNG}', 1, 'cut-zlib.png'],
  ['--image {NO_IDAT_PNG}', 1, 'no image data'],
  ['--image {ZERO_WIDTH_PNG}', 1, 'impossible size 0x64'],
  ['--image {BAD_COLOR_PNG}', 1, 'invalid colour type 5'],
  ['--image {BAD_DEPTH_PNG}', 1, 'invalid colour type 2 with bit depth 4'],
  ['--image {CHUNK_OVERRUN_PNG}', 1, 'the file ends first'],
  ['--image {CRC_BROKEN_PNG}', 1, 'crc-broken.png'],
  ['--image {JPEG_9000_JPG}', 1, 'the image is 9000x9000 (81.0 megapixels), over the 12-megapixel limit'],
  ['--image {JPEG_3000_JPG}', 1, 'which cannot code them'],
  ['--image {ARITHMETIC_JPG}', 1, 'does not support'],
  ['--image {CUT_JPG}', 1, 'cut.jpg'],
  ['--image {JPEG_ZERO_SIZE_JPG}', 1, 'unusable size 0x16'],
  ['--image {GIF_PNG}', 1, 'this is a GIF file'],
  ['--image {WEBP_JPG}', 1, 'this is a WebP file'],
  ['--image {EMPTY_PNG}', 1, 'an empty file'],
  ['--image {TEXT_PNG}', 1, 'text starting "not an i'],
  ['--image {PDF_PNG}', 1, 'a PDF document'],
];

const OUTPUTS: [string, 1 | 2, string][] = [
  ['--out /proc/layertracer', 2, 'is under /proc, a special filesystem'],
  ['--out /sys/kernel/layertracer', 2, 'is under /sys, a special filesystem'],
  ['--out /dev/null', 2, 'is under /dev, a special filesystem'],
  ['--out /dev/shm/../null', 2, 'special filesystem'],
  ['--out {GOOD_PNG}', 2, 'exists and is a file, not a folder'],
  ['--out {PIPE_PNG}', 2, 'named pipe'],
  ['--out {DIR}/no/such/folder', 2, 'does not exist; create it first'],
  ['--out {GOOD_PNG}/inside', 2, 'is a file, not a folder'],
  ['--out {EMPTY}', 2, '--out is empty'],
];

export const BAD_INPUTS: BadInput[] = [
  { args: '', code: 2, phrase: 'usage: layertracer <command>' },
  { args: 'explian --weights {VGG}', code: 2, phrase: 'unknown command "explian"' },
  { args: 'explain', code: 2, phrase: '--weights FILE is required' },
  ...variants(EXPLAIN, [
    ['-image', 2, '--image FILE is required'],
    ['--weights {DIR}/nope.safetensors', 2, 'does not exist; check the name'],
    ['--weights {DIR}/no/such/w.safetensors', 2, 'does not exist either'],
    ['--weights {DIR}', 2, 'is a folder; give a regular file'],
    ['--weights /dev/zero', 2, 'is under /dev, a special filesystem'],
    ['--weights /proc/self/environ', 2, 'is under /proc'],
    ['--weights {PIPE_PNG}', 2, 'is a named pipe (FIFO)'],
    ['--image /dev/stdin', 2, 'special filesystem'],
    ['--image {PIPE_PNG}', 2, 'named pipe'],
    ['--image {FOLDER_PNG}', 2, 'is a folder'],
    ['--image {GOOD_PNG} --image {BOMB_PNG}', 1, 'bomb.png'],
    ['--rise-masks abc', 2, '--rise-masks (or auto) must be an integer, got "abc"'],
    ['--rise-masks 0', 2, '--rise-masks 0 is out of range: it must be >= 1'],
    ['--rise-masks -5', 2, '--rise-masks -5 is out of range'],
    ['--rise-masks 1e9', 2, 'must be an integer'],
    ['--rise-masks 9999999', 2, 'is out of range'],
    ['--rise-masks NaN', 2, 'must be an integer'],
    ['--method nope', 2, '--method must be one of'],
    ['--method GRAD-CAM', 2, 'must be one of'],
    ['--colormap jte', 2, '--colormap must be one of jet, turbo'],
    ['--target -1', 2, '--target -1 is not a class'],
    ['--target 99', 2, '99'],
    ['--target zebra', 2, 'zebra'],
    ['--layer ../../etc/passwd', 2, '--layer must be a layer name'],
    ['--layer features.99', 1, 'unknown layer "features.99"'],
    ['--method cam', 2, 'method cam does not apply to plain_cnn'],
    ['--force=yes', 2, '--force takes no value'],
    ['--weights {VGG} --weights {VGG}', 2, '--weights is given twice'],
    ['--rise-masks', 2, '--rise-masks needs a value (N|auto)'],
    ['--wieghts {VGG}', 2, 'unknown option --wieghts; did you mean --weights?'],
    ['--image {GOOD_PNG} extra.png', 2, 'unexpected argument "extra.png"'],
    ['--weights {HUGE_SCALE_SAFETENSORS}', 1, 'the model overflows float32 at layer features.3'],
    ...WEIGHT_FILES,
    ...IMAGE_FILES,
    ...OUTPUTS,
  ]),
  ...variants(EVALUATE, [
    ['-data', 2, '--data FILE|DIR is required'],
    ['--range 5', 2, '--range must look like START:END'],
    ['--range 5:2', 2, '--range 5:2 is empty'],
    ['--range -1:5', 2, 'START:END'],
    ['--range 0:100000', 2, 'outside the 24 images'],
    ['--methods grad-cam,nope', 2, '--methods: "nope" is not one of'],
    ['--methods {EMPTY}', 2, 'empty entry'],
    ['--pixels-per-step 0', 2, '--pixels-per-step 0 is out of range'],
    ['--pixels-per-step abc', 2, 'must be an integer'],
    ['--batch 0', 2, '--batch 0 is out of range'],
    ['--batch 5000', 2, '--batch 5000 is out of range'],
    ['--batch x', 2, '--batch must be an integer'],
    ['--rise-masks -1', 2, 'out of range'],
    ['--data {SET_LABEL_OUT_OF_RANGE_SAFETENSORS}', 1, 'label 99 of image 5 is not a class index (0..9)'],
    ['--data {SET_LABEL_NEGATIVE_SAFETENSORS}', 1, 'label -1 of image 3'],
    ['--data {SET_CLASSES_BAD_JSON_SAFETENSORS}', 1, 'metadata "classes" is not valid JSON'],
    ['--data {SET_CLASSES_OBJECTS_SAFETENSORS}', 1, 'metadata "classes" must be a JSON list'],
    ['--data {SET_IMAGES_I32_SAFETENSORS}', 1, '"images" must be U8 [N, H, W, 3]'],
    ['--data {SET_IMAGES_RANK3_SAFETENSORS}', 1, '"images" must be U8'],
    ['--data {SET_LABELS_COUNT_SAFETENSORS}', 1, '"labels" must be [4]'],
    ['--data {SET_LABELS_F32_SAFETENSORS}', 1, '"labels" must be U8 or I32'],
    ['--data {SET_32PX_SAFETENSORS} --range 0:2', 1, 'holds 32x32 images but the model takes 64x64'],
    ['--data {SET_NO_LABELS_SAFETENSORS}', 1, '"labels" is missing'],
    ['--data {PIPE_PNG}', 2, 'named pipe'],
    ['--data {TEXT_SAFETENSORS}', 1, 'text.safetensors'],
    ['--data {DEEP_HEADER_SAFETENSORS}', 1, 'nested more than 32 levels'],
    ['--weights {NAN_SAFETENSORS}', 1, 'non-finite value'],
    ['--out {GOOD_PNG}', 2, 'not a folder'],
    ['--out /proc/x', 2, 'special filesystem'],
  ]),
  ...variants(MEANS, [
    ['-out', 2, '--out FILE is required'],
    ['--out {DIR}/nodir/m.safetensors', 2, 'does not exist; create it first'],
    ['--out {MEANS}', 2, 'already exists; pass --force'],
    ['--out {FOLDER_PNG}', 2, 'exists and is a folder'],
    ['--out /dev/null', 2, 'special filesystem'],
    ['--out {PIPE_PNG}', 2, 'named pipe'],
    ['--mode mean', 2, '--mode must be one of gap, full'],
    ['--exits {EMPTY}', 2, 'empty entry'],
    ['--exits features.99', 1, 'unknown layer "features.99"'],
    ['--batch 0', 2, 'out of range'],
    ['--range 0:0', 2, 'is empty'],
    ['--range 0:500', 2, 'outside the 24 images'],
    ['--data {SET_LABEL_OUT_OF_RANGE_SAFETENSORS}', 1, 'label 99'],
    ['--weights {INT_WEIGHTS_SAFETENSORS}', 1, 'integer type'],
    ['--weights {DEEP_METADATA_SAFETENSORS}', 1, 'nested more than 32 levels'],
    ['--weights {HUGE_SCALE_SAFETENSORS}', 1, 'overflows float32'],
  ]),
  ...variants(EARLY, [
    ['-means', 2, '--means FILE is required'],
    ['--means {MEANS_NAN_SAFETENSORS}', 1, 'tensor "means:features.5" holds NaN or infinite values'],
    ['--means {MEANS_BAD_EXITS_SAFETENSORS}', 1, 'metadata "exits" must be a JSON list'],
    ['--means {MEANS_EXITS_JSON_SAFETENSORS}', 1, 'metadata "exits" is missing or not valid JSON'],
    ['--means {MEANS_KIND_SAFETENSORS}', 1, 'not a class-means file'],
    ['--means {MEANS_TEMP_ZERO_SAFETENSORS}', 1, 'a temperature is not positive'],
    ['--means {MEANS_SHAPE_SAFETENSORS}', 1, 'has shape [3, 16], expected [10, D]'],
    ['--means {MEANS_UNKNOWN_LAYER_SAFETENSORS}', 1, 'features.99'],
    ['--means {VGG}', 1, 'not a class-means file'],
    ['--means {DEEP_HEADER_SAFETENSORS}', 1, 'nested'],
    ['--means {PIPE_PNG}', 2, 'named pipe'],
    ['--thresholds 0.5,abc', 2, '--thresholds must be a comma-separated list of numbers'],
    ['--thresholds -0.5', 2, '--thresholds -0.5 is out of range'],
    ['--thresholds {EMPTY}', 2, 'comma-separated list'],
    ['--thresholds NaN', 2, 'comma-separated list'],
    ['--range 3:1', 2, 'is empty'],
    ['--data {SET_32PX_SAFETENSORS} --range 0:2', 1, '32x32 images'],
    ['--out /proc/self', 2, 'special filesystem'],
    ['--weights {RESIZE_HUGE_SAFETENSORS}', 1, 'resize'],
  ]),
  ...variants(FILTERS, [
    ['--max-filters 0', 2, '--max-filters 0 is out of range'],
    ['--max-filters abc', 2, 'must be an integer'],
    ['--max-filters 99999', 2, 'out of range'],
    ['--max-channels -1', 2, 'out of range'],
    ['--scale 0', 2, '--scale 0 is out of range'],
    ['--scale 1000', 2, 'out of range'],
    ['--layer features.1', 1, 'features.1'],
    ['--layer bogus', 1, 'unknown layer "bogus"'],
    ['--layer a/b', 2, '--layer must be a layer name'],
    ['--grey=yes', 2, 'takes no value'],
    ['--weights {TRUNCATED_SAFETENSORS}', 1, 'truncated.safetensors'],
    ['--weights {NAN_SAFETENSORS}', 1, 'non-finite'],
    ['--out {GOOD_PNG}', 2, 'not a folder'],
  ]),
  ...variants(PATCHES, [
    ['-channels', 2, '--channels LIST is required'],
    ['-layer', 2, '--layer NAME is required'],
    ['--channels a', 2, '--channels: "a" is not an index'],
    ['--channels 5-2', 2, 'range 5-2 is empty'],
    ['--channels 0-9999999', 2, 'too large'],
    ['--channels 500', 1, '500'],
    ['--top 0', 2, '--top 0 is out of range'],
    ['--limit 0', 2, '--limit 0 is out of range'],
    ['--limit -3', 2, 'out of range'],
    ['--layer features.99', 1, 'unknown layer'],
    ['--data {EMPTY_FOLDER}', 1, 'no PNG or JPEG images'],
    ['--data {DIR}/missing', 2, 'does not exist'],
    ['--data {SET_IMAGES_I32_SAFETENSORS}', 1, 'must be U8'],
  ]),
  ...variants(NEIGHBOURS, [
    ['--queries 99', 2, '--queries: image 99 is out of range'],
    ['--k 0', 2, '--k 0 is out of range'],
    ['--k 100', 2, '--k 100 is too large'],
    ['--metric manhattan', 2, '--metric must be one of euclidean, cosine'],
    ['--queries x', 2, 'is not an index'],
    ['--limit abc', 2, 'must be an integer'],
    ['--layer bogus', 1, 'unknown layer'],
    ['--data {SET_LABEL_OUT_OF_RANGE_SAFETENSORS}', 1, 'label 99'],
    ['--weights {HUGE_SCALE_SAFETENSORS}', 1, 'overflows float32'],
  ]),
  ...variants(EMBED, [
    ['--method umap', 2, '--method must be one of pca, tsne, both'],
    ['--perplexity 0', 2, '--perplexity 0 is out of range: it must be > 0'],
    ['--perplexity -1', 2, 'out of range'],
    ['--perplexity abc', 2, '--perplexity must be a number'],
    ['--perplexity NaN', 2, 'must be a number'],
    ['--iterations 0', 2, 'out of range'],
    ['--seed 1.5', 2, '--seed must be an integer'],
    ['--method tsne --perplexity 30', 2, '--perplexity 30 needs more than 30 images'],
    ['--limit 0', 2, 'out of range'],
    ['--data {SET_NO_LABELS_SAFETENSORS}', 1, '"labels" is missing'],
  ]),
  ...variants(TRACE, [
    ['-means', 2, '--means FILE is required'],
    ['--keep 0', 2, '--keep 0 is out of range: it must be > 0 and < 1'],
    ['--keep 1', 2, 'out of range'],
    ['--keep 1.5', 2, 'out of range'],
    ['--keep abc', 2, 'must be a number'],
    ['--cells 0', 2, 'out of range'],
    ['--masks 0', 2, 'out of range'],
    ['--seed -1', 2, '--seed -1 is out of range'],
    ['--seed 4294967296', 2, 'out of range'],
    ['--threshold -0.1', 2, 'out of range'],
    ['--batch 0', 2, 'out of range'],
    ['--means {MEANS_NAN_SAFETENSORS}', 1, 'NaN'],
    ['--means {MEANS_UNKNOWN_LAYER_SAFETENSORS}', 1, 'features.99'],
    ['--image {BOMB_PNG}', 1, 'inflates'],
    ['--image {UNFILLABLE_PNG}', 1, 'cannot fill'],
    ['--target 999', 2, '999'],
    ['--weights {NAN_SAFETENSORS}', 1, 'non-finite'],
    ['--out /sys/x', 2, 'special filesystem'],
  ]),
  ...variants(DEMO, [
    ['--images 0', 2, '--images 0 is out of range'],
    ['--images abc', 2, 'must be an integer'],
    ['--images 101', 2, 'out of range'],
    ['--rise-masks 0', 2, 'out of range'],
    ['--trace-masks -1', 2, 'out of range'],
    ['--out /proc/x', 2, 'special filesystem'],
    ['--out {GOOD_PNG}', 2, 'not a folder'],
    ['--out {DIR}/a/b', 2, 'does not exist'],
    ['--bogus', 2, 'unknown option --bogus'],
    ['--force', 2, 'unknown option --force'],
  ]),
  ...variants(PROFILE, [
    // 224 x 224 makes the 16-channel activations 3.06 MiB an image: 41 fit one 128 MiB binding.
    ['--input-size 224x224 --batch 64', 1, '64 images of 3x224x224 in one pass'],
    ['--batch 0', 2, 'out of range'],
    ['--arch nonet', 2, '--arch must be one of'],
    ['--image {GOOD_PNG} --batch 2', 2, '--image sets the batch'],
    ['-arch', 2, 'one of --weights FILE or --arch NAME'],
  ]),
];
