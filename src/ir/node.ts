/**
 * What every node of the graph IR has (src/operators/ defines each kind): its kind, a unique name (the
 * source layer's, used in errors and profiles), its main input tensor and its output tensor; an operator
 * names its other tensor inputs by field (a conv's `residual`, an add's `addend`). Tensor ids are the names
 * of the nodes that write them (or the graph input's).
 */

export interface NodeBase {
  op: string;
  name: string;
  input: string;
  output: string;
}

/** The fields of a node that may name an input tensor (a string, or an optional one). */
export type InputField<N> = {
  [K in keyof N]-?: K extends 'op' | 'name' | 'output' ? never : N[K] extends string | undefined ? K : never;
}[keyof N];

/**
 * A node's structure as text: every field but its name, its output, the weights' values (typed arrays, and
 * objects of nothing else such as int8 weights, are left out: their sizes follow from the shapes, and how
 * they are stored is the kernel's own input) and the fields in `ignore`, with each input field as whether
 * it is there. Kernels of nodes with equal keys and input shapes are made the same way: a field a
 * new operator adds is in the key without anyone listing it (`ignore` may only name fields a kernel's code
 * does not depend on: forgetting one costs a second compilation, never a shared wrong one).
 */
/** Whether `value` is an object holding typed arrays and nothing else (weights' values). */
const onlyArrays = (value: unknown): boolean =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  Object.values(value).every(ArrayBuffer.isView);

export function structuralKey(node: object, inputFields: readonly string[], ignore: readonly string[] = []): string {
  const skip = new Set(['name', 'output', ...inputFields, ...ignore]);
  const inputs = inputFields.map((f) => (node as Record<string, unknown>)[f] !== undefined);
  return JSON.stringify([inputs, node], function (this: unknown, key: string, value: unknown) {
    if (this === node && skip.has(key)) return undefined;
    return ArrayBuffer.isView(value) || onlyArrays(value) ? undefined : value;
  });
}
