/**
 * One sentence per method on how to read its picture, for the reports (explain, demo) and the page.
 * A test checks that every method in the registry has one.
 */
/** How to read each method's picture, by method name (`METHODS[i].name`). */
export const METHOD_GUIDE: Readonly<Record<string, string>> = {
  saliency:
    'Bright where a small change of the pixel moves the class score most (|gradient|, max over colour channels): expect speckle along edges, not whole objects.',
  deconvnet:
    'The gradient under the DeconvNet rule, as RGB around grey: image patterns that excite the network, largely the same whichever class is explained.',
  'guided-backprop':
    'The gradient with only positive paths kept, as RGB around grey: sharp edges and textures that raise the class score; only weakly class-specific.',
  cam: "Where the last conv layer's features, weighted by the classifier's weights for the class, are strongest: a coarse map of the class evidence.",
  'grad-cam':
    "Where the chosen layer's channels that raise the class score (weighted by their mean gradient) are active: coarse, class-specific, at the layer's resolution.",
  'guided-grad-cam': 'Guided backprop kept only where Grad-CAM is high: fine edges, restricted to the regions that support the class.',
  'layer-cam':
    'Like Grad-CAM, but each position weighted by its own positive gradient: finer detail, and it stays meaningful at earlier layers.',
  hybrid: 'Grad-CAM and LayerCAM blended (Grad-CAM^0.7 x LayerCAM^0.3): the class focus of one with some of the detail of the other.',
  'grad-cam++': 'Grad-CAM with higher-order channel weights: spreads over several instances of the class rather than only the strongest.',
  'xgrad-cam': 'Grad-CAM with activation-weighted gradients as channel weights; usually close to Grad-CAM.',
  'hires-cam':
    "Gradient times activation at every position, summed over channels: exactly what the layer's features add to the score, with no averaging.",
  smoothgrad: 'Saliency averaged over noisy copies of the image: the same reading as saliency, with less speckle.',
  'integrated-gradients':
    'The gradient accumulated from a black image to this one, times the input: how much each pixel accounts for the score compared with black.',
  rise: 'Where keeping the image visible under random masks keeps the class probability high: model-agnostic, blocky at the mask grid, noisy with few masks.',
  l2caf: 'A filter on the last conv layer, optimised to leave the output unchanged: high where the network cannot do without the features.',
  'score-cam':
    "Each channel of the layer used as a mask on the input, weighted by the class score it keeps: gradient-free, at the layer's resolution.",
};

/** The reading sentence of a method, or an empty string for a method without one. */
export function methodGuide(name: string): string {
  return METHOD_GUIDE[name] ?? '';
}
