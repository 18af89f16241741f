import type { Dim, DType, Graph, Node, Op, Phase, Value } from "./ir.ts";

/** Appends nodes in execution order; each node makes one new value. */
export class GraphBuilder {
  readonly values: Value[] = [];
  readonly nodes: Node[] = [];
  private readonly weights = new Map<string, number>();
  private readonly inputs = new Map<string, number>();
  phase: Phase = "decoder";

  constructor(private readonly shapes: { weight(name: string): number[] }) {}

  emit(op: Op, dtype: DType, shape: Dim[], name: string): number {
    const id = this.values.length;
    this.values.push({ id, dtype, shape, name });
    this.nodes.push({ ...op, out: id, phase: this.phase } as Node);
    return id;
  }

  /** Weights and inputs are emitted once and shared, in the phase that first needs them. */
  weight(name: string): number {
    const known = this.weights.get(name);
    if (known !== undefined) return known;
    const id = this.emit({ op: "weight", weight: name }, "f32", this.shapes.weight(name), name);
    this.weights.set(name, id);
    return id;
  }

  input(name: string, dtype: DType, shape: Dim[]): number {
    const known = this.inputs.get(name);
    if (known !== undefined) return known;
    const id = this.emit({ op: "input", input: name }, dtype, shape, name);
    this.inputs.set(name, id);
    return id;
  }

  shape(id: number): Dim[] {
    return this.values[id].shape;
  }

  build(model: string, train: Graph["train"]): Graph {
    return { model, values: this.values, nodes: this.nodes, train };
  }
}
