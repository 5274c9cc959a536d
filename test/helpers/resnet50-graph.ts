/** ResNet-50's optimized graph with every weight 0.01, for the CPU-only planner and kernel-interface tests. */
import { buildResNet, standardArchitecture } from '../../src/arch/resnet.js';
import { optimize } from '../../src/graph/passes.js';

export const resnet50Graph = optimize(
  buildResNet((_, shape) => new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.01), {
    architecture: standardArchitecture(50),
  }),
).graph;
