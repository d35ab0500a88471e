// Licensed under the MIT license.
// The contract every ONNX operator file implements: validation and shape inference, optional build-time folding,
// and lowering to kernels. Handlers are stateless singletons found through OpRegistry.

using ModelGen.Generator.Ir;
using ModelGen.Generator.Onnx;
using ModelGen.Generator.Passes;

namespace ModelGen.Generator.Ops;

internal abstract class OpHandler
{
    /// <summary>The ONNX op_type.</summary>
    public abstract string OpType { get; }

    /// <summary>Operator domain ("" is ai.onnx).</summary>
    public virtual string Domain => "";

    /// <summary>Lowest opset this handler implements.</summary>
    public virtual int MinOpset => 1;

    /// <summary>Highest opset whose definition this handler was checked against (the ONNX changelog).</summary>
    public virtual int MaxOpset => 21;

    /// <summary>
    /// Validates the node (arity, attributes) and sets each output's type and static shape. Throws
    /// <see cref="InvalidNodeException"/> for spec violations and <see cref="UnsupportedNodeException"/> for valid
    /// nodes ModelGen cannot compile.
    /// </summary>
    public abstract void Infer(Node node, InferContext ctx);

    /// <summary>Computes the outputs at build time when every input is a readable constant; null leaves it to run time.</summary>
    public virtual Constant[]? Fold(Node node, InferContext ctx) => null;

    /// <summary>Emits the node's layers (or aliases its output) for the target profile.</summary>
    public abstract void Lower(Node node, LoweringContext ctx);

    protected static void RequireInputs(Node node, int min, int max)
    {
        int count = node.Inputs.Count;
        while (count > 0 && node.Inputs[count - 1] is null) count--;
        if (count < min || node.Inputs.Count > max)
            throw new InvalidNodeException($"expects {(min == max ? min.ToString() : $"{min} to {max}")} inputs, has {node.Inputs.Count}");
        for (int i = 0; i < min; i++)
        {
            if (node.Inputs[i] is null) throw new InvalidNodeException($"required input {i} is missing");
        }
    }

    protected static void RequireOutputs(Node node, int min, int max)
    {
        if (node.Outputs.Count < min || node.Outputs.Count > max)
            throw new InvalidNodeException($"expects {(min == max ? min.ToString() : $"{min} to {max}")} outputs, has {node.Outputs.Count}");
    }

    protected static int[] ShapeOf(Value? v, string what)
    {
        if (v?.Shape is null) throw new InvalidNodeException($"the shape of {what} is unknown");
        return v.Shape;
    }

    /// <summary>The shape of an N x C x spatial... tensor (rank 3 or more), named <paramref name="what"/> in the error.</summary>
    protected static int[] SpatialShapeOf(Value? v, string what, string label = "the input")
    {
        int[] s = ShapeOf(v, what);
        if (s.Length < 3) throw new InvalidNodeException($"{label} must be N x C x spatial, got {Shapes.Format(s)}");
        return s;
    }

    /// <summary>The float32-only kernels: any other element type is an unsupported node.</summary>
    protected static void RequireFloat(Value v)
    {
        if (v.Type != OnnxDataType.Float) throw new UnsupportedNodeException($"element type {v.Type}");
    }
}
