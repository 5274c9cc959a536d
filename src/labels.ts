import labels from '../assets/imagenet-labels.json';

/** The 1000 ImageNet-1k class names in the standard index order (synsets sorted), as Keras ships them. */
export const IMAGENET_LABELS: readonly string[] = labels as string[];
